package mssim

import (
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// grant is one interactive sign-in's result: who, which app, what was
// consented. Every refresh token descending from that sign-in shares it, so
// a refresh copies a pointer instead of a scope list.
type grant struct {
	app      *app
	user     *user
	scopes   scopeSet // granted at sign-in; refreshes may ask for a subset
	authSeq  int64    // position in the sim's sequence, for revocation checks
	authTime time.Time
}

type authCode struct {
	g           *grant
	issuedAt    authority // where the code was issued
	redirectURI string
	challenge   string
	method      string
	nonce       string
	expires     int64 // sim Unix nanos
	redeemed    atomic.Bool
}

func (c *authCode) purgeAt() int64 { return c.expires + int64(time.Hour) }

type refreshToken struct {
	g        *grant
	issued   int64        // sim Unix nanos
	lastUsed atomic.Int64 // sim Unix nanos; inactivity counts from here
}

// Refresh tokens are kept well past their inactivity limit, so that an old
// one still answers AADSTS700082 rather than "malformed".
func (t *refreshToken) purgeAt() int64 { return t.lastUsed.Load() + int64(2*365*24*time.Hour) }

type accessToken struct {
	app     *app
	tenant  *tenant
	user    *user    // nil for app-only tokens
	scopes  scopeSet // delegated
	roles   scopeSet // application
	expires int64    // sim Unix nanos
}

func (t *accessToken) purgeAt() int64 { return t.expires + int64(24*time.Hour) }

// tokenResponse is the token endpoint's success body, fields in the
// platform's order.
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

// delegatedLifetime draws an access token lifetime, whole seconds, uniformly
// from the configured range (60–90 minutes by default).
func (s *Sim) delegatedLifetime() time.Duration {
	l := s.Lifetimes()
	span := int64((l.AccessMax - l.AccessMin) / time.Second)
	return l.AccessMin + time.Duration(rand.Int64N(span+1))*time.Second
}

// issueAccess stores a new opaque access token and returns it with its
// lifetime in seconds.
func (s *Sim) issueAccess(at *accessToken, life time.Duration, now time.Time) (string, int64) {
	at.expires = now.Add(life).UnixNano()
	tok := newToken("EwA", 48)
	s.access.put(tok, at, now.UnixNano())
	return tok, int64(life / time.Second)
}

// issueRefresh stores a new refresh token for g.
func (s *Sim) issueRefresh(g *grant, now time.Time) string {
	rt := &refreshToken{g: g, issued: now.UnixNano()}
	rt.lastUsed.Store(now.UnixNano())
	tok := newToken("1.AXsim", 48)
	s.refresh.put(tok, rt, now.UnixNano())
	return tok
}

// delegatedResponse builds the success body for a user's grant: an access
// token for scopes, a refresh token when offline_access was granted, an
// id_token when openid is among scopes.
func (s *Sim) delegatedResponse(base string, g *grant, scopes scopeSet, nonce string, now time.Time) (tokenResponse, error) {
	at := &accessToken{app: g.app, tenant: g.user.tenant, user: g.user, scopes: scopes.resource()}
	tok, secs := s.issueAccess(at, s.delegatedLifetime(), now)
	resp := tokenResponse{TokenType: "Bearer", Scope: s.scopeString(scopes), ExpiresIn: secs, ExtExpiresIn: secs, AccessToken: tok}
	if g.scopes.has(scopeOfflineAccess) {
		resp.RefreshToken = s.issueRefresh(g, now)
	}
	if scopes.has(scopeOpenID) {
		id, err := s.keys.idToken(base, g, scopes, nonce, now, s.Lifetimes().IDToken, s.signInClaims(g))
		if err != nil {
			return tokenResponse{}, err
		}
		resp.IDToken = id
	}
	return resp, nil
}
