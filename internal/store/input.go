package store

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Input from a query string reaches SQL only once it is text Postgres
// takes: a NUL byte or invalid UTF-8 fails there with SQLSTATE 22021,
// which was a 500 with the input in the log. It is refused here, as
// ErrInvalid, before any query runs.

// validText reports whether s is text Postgres stores: UTF-8 without NUL.
func validText(s ...string) bool {
	for _, v := range s {
		if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			return false
		}
	}
	return true
}

// maxCursor bounds a cursor before it is decoded: the ones the store hands
// out are a few hundred bytes.
const maxCursor = 1024

// decodeListCursor reads a connection list cursor for a sort on key and
// checks every field against what that sort's SQL casts it to (a timestamp,
// a UUID), so a forged one is a bad cursor, never a failing query.
func decodeListCursor(s, key string) (listCursor, bool) {
	var cur listCursor
	if len(s) > maxCursor {
		return cur, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(raw, &cur) != nil || uuid.Validate(cur.ID) != nil || !validText(cur.V) {
		return cur, false
	}
	if key == "c.created_at" {
		if _, err := time.Parse(time.RFC3339Nano, cur.V); err != nil {
			return cur, false
		}
	}
	return cur, true
}

// decodeFeedCursor reads an audit feed cursor and checks its key against
// its source: a bigint ID, or a key ID and a connection ID (token usage).
func decodeFeedCursor(s string) (*feedCursor, bool) {
	cur := &feedCursor{}
	if len(s) > maxCursor {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(raw, cur) != nil {
		return nil, false
	}
	switch cur.Src {
	case SourceUsage:
		keyID, connID, ok := strings.Cut(cur.Key, "/")
		return cur, ok && uuid.Validate(keyID) == nil && uuid.Validate(connID) == nil
	case SourceStatus, SourceAudit:
		id, err := strconv.ParseInt(cur.Key, 10, 64)
		return cur, err == nil && id >= 0
	}
	return nil, false
}
