package brokerclient

import (
	"context"
	"net/url"
	"strconv"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// TokenOption configures a TokenSource.
type TokenOption func(*tokenSource)

// MinTTL is how long a token must still be valid when Token returns it
// (default 5 minutes, at most 50): the broker is asked for a token valid at
// least this long, and it is reused until only MinTTL is left.
func MinTTL(d time.Duration) TokenOption { return func(ts *tokenSource) { ts.minTTL = d } }

// TokenSource returns an oauth2.TokenSource of connectionID's Microsoft
// Graph access tokens. It caches a token until its expiry minus MinTTL, and
// concurrent callers share one request to the broker. Its errors are
// *Error with the broker's problem code.
func (c *Client) TokenSource(connectionID string, opts ...TokenOption) oauth2.TokenSource {
	ts := &tokenSource{c: c, id: connectionID, minTTL: 5 * time.Minute, now: time.Now}
	for _, o := range opts {
		o(ts)
	}
	return ts
}

type tokenSource struct {
	c      *Client
	id     string
	minTTL time.Duration
	now    func() time.Time

	// mu is held while the broker is asked, so callers arriving meanwhile
	// wait for that answer instead of asking again.
	mu         sync.Mutex
	tok        *oauth2.Token
	validUntil time.Time // expiry − MinTTL, on this machine's clock
}

// tokenJSON is the broker's token answer, as far as the client needs it.
type tokenJSON struct {
	AccessToken string         `json:"access_token"`
	TokenType   string         `json:"token_type"`
	ExpiresIn   int64          `json:"expires_in"`
	Scope       string         `json:"scope"`
	Connection  *ConnectionRef `json:"connection"`
}

// ConnectionRef is the connection a token belongs to, as the token answer
// names it. TokenConnection reads it from a token.
type ConnectionRef struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Project     string `json:"project"` // the project's name
	AccountType string `json:"account_type"`
	AuthType    string `json:"auth_type"`
	Status      string `json:"status"`
	Account     struct {
		TenantID string `json:"tenant_id"`
		User     string `json:"user"`
	} `json:"account"`
	EndUser  *EndUser          `json:"end_user,omitempty"` // set when a connect link made the connection
	Metadata map[string]string `json:"metadata,omitempty"`
}

// TokenConnection is the connection a TokenSource's token was issued for
// (its end user and metadata included), or nil for a token not from a
// TokenSource.
func TokenConnection(tok *oauth2.Token) *ConnectionRef {
	if tok == nil {
		return nil
	}
	c, _ := tok.Extra("connection").(*ConnectionRef)
	return c
}

// Token returns a cached token with at least MinTTL left, or a new one
// from the broker.
func (ts *tokenSource) Token() (*oauth2.Token, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.tok != nil && ts.now().Before(ts.validUntil) {
		return ts.tok, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), ts.c.timeout)
	defer cancel()
	start := ts.now()
	var body tokenJSON
	q := url.Values{"min_ttl": {strconv.FormatInt(int64(ts.minTTL/time.Second), 10)}}
	if err := ts.c.get(ctx, "/connections/"+url.PathEscape(ts.id)+"/token", q, &body); err != nil {
		return nil, err
	}
	// expires_in rather than expires_at: this machine's clock may be off
	// from the broker's; the request's start makes the estimate safe.
	expiry := start.Add(time.Duration(body.ExpiresIn) * time.Second)
	ts.tok = (&oauth2.Token{AccessToken: body.AccessToken, TokenType: body.TokenType, Expiry: expiry}).
		WithExtra(map[string]any{"scope": body.Scope, "connection": body.Connection})
	ts.validUntil = expiry.Add(-ts.minTTL)
	return ts.tok, nil
}
