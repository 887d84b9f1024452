package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/tokens"
)

const (
	defaultMinTTL = 300 * time.Second
	// maxMinTTL stays below the shortest lifetime Microsoft gives an access
	// token (60 minutes), so every min_ttl can be met by a fresh token.
	maxMinTTL = 3000 * time.Second
)

// tokenResponse is the answer to a token request: never a refresh token
// or a secret.
type tokenResponse struct {
	AccessToken string        `json:"access_token"`
	TokenType   string        `json:"token_type"`
	ExpiresAt   string        `json:"expires_at"`
	ExpiresIn   int64         `json:"expires_in"`
	Scope       string        `json:"scope"`
	Connection  connectionRef `json:"connection"`
}

type connectionRef struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Project     string  `json:"project"`
	AccountType string  `json:"account_type"`
	AuthType    string  `json:"auth_type"`
	Status      string  `json:"status"`
	Account     account `json:"account"`
	// EndUser and Metadata: set when a connect link made the connection.
	EndUser  *endUserJSON      `json:"end_user,omitempty"`
	Metadata map[string]string `json:"metadata"`
}

type account struct {
	TenantID string `json:"tenant_id"`
	User     string `json:"user"`
}

// token serves GET /connections/{id}/token?min_ttl=&force_refresh=.
func (h *Handler) token(w http.ResponseWriter, r *http.Request) {
	h.serveToken(w, r, chi.URLParam(r, "id"))
}

// serveToken answers the token request for the connection rawID names (the
// path's {id}, from chi or TokenFirst).
func (h *Handler) serveToken(w http.ResponseWriter, r *http.Request, rawID string) {
	now := h.Now()
	key := h.authenticate(w, r, now)
	if key == nil {
		return
	}
	id, ok := validConnectionID(w, rawID)
	if !ok {
		return
	}
	req := tokens.Request{MinTTL: defaultMinTTL, ProjectIDs: key.ProjectIDs, Wait: h.TokenWait}
	if r.URL.RawQuery != "" {
		var msg string
		if req.MinTTL, req.ForceRefresh, msg = tokenQuery(r.URL.RawQuery); msg != "" {
			writeProblem(w, "invalid_request", msg, 0)
			return
		}
	}
	tok, err := h.Tokens.Token(r.Context(), key.TenantID, id, req)
	if err != nil {
		e, ok := tokens.AsError(err)
		if !ok {
			e = &tokens.Error{Code: tokens.CodeInternal, Detail: "The broker could not get a token.", Err: err}
		}
		if e.Code == tokens.CodeInternal {
			h.Logger.Error("api: token request failed", "connection", id, "api_key", key.ID, "err", e.Err)
		}
		writeTokenError(w, e)
		return
	}
	if h.Usage != nil {
		h.Usage.Record(key.TenantID, key.ID, id, tok.Refreshed, now)
	}
	c := tok.Conn
	body := tokenResponse{AccessToken: tok.AccessToken, TokenType: "Bearer",
		ExpiresAt: tok.ExpiresAt.UTC().Format(time.RFC3339), ExpiresIn: int64(tok.ExpiresAt.Sub(now) / time.Second),
		Scope: tok.Scope, Connection: connectionRef{ID: c.ID, Name: c.Name, Project: c.ProjectName,
			AccountType: c.AccountType, AuthType: c.AuthType, Status: c.Status,
			Account: account{TenantID: c.AccountTenantID, User: c.AccountUser},
			EndUser: endUserOf(c.EndUser), Metadata: metadataJSON(c.Metadata)}}
	writeToken(w, &body)
}

// tokenQuery parses min_ttl and force_refresh; msg says what is wrong.
func tokenQuery(raw string) (minTTL time.Duration, force bool, msg string) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return 0, false, "The query string is malformed."
	}
	minTTL = defaultMinTTL
	if v := q.Get("min_ttl"); v != "" {
		// Bounded before it becomes a Duration: 9300000000 seconds times
		// 1e9 wraps int64 to a negative min_ttl that any token satisfies.
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > int64(maxMinTTL/time.Second) {
			return 0, false, "min_ttl must be a whole number of seconds from 0 to 3000."
		}
		minTTL = time.Duration(n) * time.Second
	}
	if v := q.Get("force_refresh"); v != "" {
		if force, err = strconv.ParseBool(v); err != nil {
			return 0, false, "force_refresh must be true or false."
		}
	}
	return minTTL, force, ""
}

// setJSONHeaders says JSON, not to be stored. The values are what Set would
// store, without a new slice per answer; Cache-Control is written only when
// it is not already no-store (web.APIHeaders sets it), since assigning to a
// full small map, even an existing key, grows it.
func setJSONHeaders(h http.Header) {
	h["Content-Type"] = jsonType
	if v := h["Cache-Control"]; len(v) != 1 || v[0] != "no-store" {
		h["Cache-Control"] = noStore
	}
}

// Header values shared by every answer; never modified.
var (
	jsonType = []string{"application/json"}
	noStore  = []string{"no-store"}
)

// writeJSON answers 200 with v. Tokens and connection data are never cached
// by intermediaries.
func writeJSON(w http.ResponseWriter, v any) {
	setJSONHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(v)
}
