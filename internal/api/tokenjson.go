package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
)

// The token answer is the hot path's one body: written by hand into a pooled
// buffer instead of through encoding/json's reflection, byte for byte what
// json.Encoder writes for tokenResponse (TestTokenJSONAsEncoderWrites,
// FuzzTokenJSON). Strings that need escaping, the end user and non-empty
// metadata are rare and go through encoding/json itself.

var tokenBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// writeToken answers 200 with the token answer.
func writeToken(w http.ResponseWriter, t *tokenResponse) {
	setJSONHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	bp := tokenBufs.Get().(*[]byte)
	b := appendTokenJSON((*bp)[:0], t)
	w.Write(b)
	if cap(b) <= 64<<10 {
		*bp = b
		tokenBufs.Put(bp)
	}
}

// appendTokenJSON appends t as json.Encoder.Encode writes it, newline included.
func appendTokenJSON(b []byte, t *tokenResponse) []byte {
	b = append(b, `{"access_token":`...)
	b = appendJSONString(b, t.AccessToken)
	b = append(b, `,"token_type":`...)
	b = appendJSONString(b, t.TokenType)
	b = append(b, `,"expires_at":`...)
	b = appendJSONString(b, t.ExpiresAt)
	b = append(b, `,"expires_in":`...)
	b = strconv.AppendInt(b, t.ExpiresIn, 10)
	b = append(b, `,"scope":`...)
	b = appendJSONString(b, t.Scope)
	c := &t.Connection
	b = append(b, `,"connection":{"id":`...)
	b = appendJSONString(b, c.ID)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, c.Name)
	b = append(b, `,"project":`...)
	b = appendJSONString(b, c.Project)
	b = append(b, `,"account_type":`...)
	b = appendJSONString(b, c.AccountType)
	b = append(b, `,"auth_type":`...)
	b = appendJSONString(b, c.AuthType)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, c.Status)
	b = append(b, `,"account":{"tenant_id":`...)
	b = appendJSONString(b, c.Account.TenantID)
	b = append(b, `,"user":`...)
	b = appendJSONString(b, c.Account.User)
	b = append(b, '}')
	if c.EndUser != nil {
		b = append(b, `,"end_user":`...)
		b = appendMarshaled(b, c.EndUser)
	}
	b = append(b, `,"metadata":`...)
	switch {
	case c.Metadata == nil:
		b = append(b, "null"...)
	case len(c.Metadata) == 0:
		b = append(b, "{}"...)
	default:
		b = appendMarshaled(b, c.Metadata)
	}
	return append(b, "}}\n"...)
}

// appendJSONString appends s quoted as encoding/json does (HTML-escaped):
// as it is when every byte is printable ASCII needing no escape.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return appendMarshaled(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendMarshaled(b []byte, v any) []byte {
	m, err := json.Marshal(v)
	if err != nil { // strings and maps of strings always marshal
		panic(err)
	}
	return append(b, m...)
}
