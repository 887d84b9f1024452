package mssim

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
)

// A client that knows nothing of the sim: golang.org/x/oauth2 with PKCE,
// id_token checked against the served JWKS, two refreshes, Graph, then a
// revocation. Run with both ways x/oauth2 authenticates the client.
func TestOAuth2ClientFlow(t *testing.T) {
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInParams, oauth2.AuthStyleInHeader} {
		t.Run(map[oauth2.AuthStyle]string{oauth2.AuthStyleInParams: "secret in body", oauth2.AuthStyleInHeader: "HTTP Basic"}[style], func(t *testing.T) {
			testOAuth2ClientFlow(t, style)
		})
	}
}

func testOAuth2ClientFlow(t *testing.T, style oauth2.AuthStyle) {
	e := newTestEnv(t)
	ctx := context.Background()
	conf := &oauth2.Config{
		ClientID:     e.demo.WebApp.ClientID,
		ClientSecret: e.demo.WebApp.Secret,
		RedirectURL:  DemoRedirectURI,
		Scopes:       []string{"openid", "profile", "offline_access", "User.Read", "Mail.Read"},
		Endpoint: oauth2.Endpoint{
			AuthURL:   e.srv.URL + "/common/oauth2/v2.0/authorize",
			TokenURL:  e.srv.URL + "/common/oauth2/v2.0/token",
			AuthStyle: style,
		},
	}
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("state-xyz", oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("nonce", "nonce-abc"), oauth2.SetAuthURLParam("response_mode", "query"))
	q := e.signIn(nil, authURL, e.demo.Adele.UPN, SignInOptions{})
	if q.Get("state") != "state-xyz" {
		t.Fatalf("state %q", q.Get("state"))
	}
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}

	// id_token: signature by kid from the JWKS, audience, times, nonce, and
	// iss checked by hand against tid (the discovery issuer is a template).
	idToken, _ := tok.Extra("id_token").(string)
	claims := verifyIDToken(t, e, idToken)
	tid, _ := claims["tid"].(string)
	if !isGUID(tid) || claims["iss"] != e.srv.URL+"/"+tid+"/v2.0" {
		t.Fatalf("iss %v for tid %v", claims["iss"], tid)
	}
	for k, want := range map[string]string{"nonce": "nonce-abc", "oid": e.demo.Adele.ObjectID,
		"preferred_username": e.demo.Adele.UPN, "name": "Adele Vance", "tid": DemoContosoTenantID} {
		if claims[k] != want {
			t.Errorf("claim %s = %v, want %s", k, claims[k], want)
		}
	}
	if _, ok := tok.Extra("ext_expires_in").(float64); !ok {
		t.Error("no ext_expires_in")
	}

	// Two refreshes: three distinct refresh tokens, every one still usable.
	rts := []string{tok.RefreshToken}
	for range 2 {
		next, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rts[len(rts)-1], Expiry: time.Now().Add(-time.Hour)}).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		rts = append(rts, next.RefreshToken)
		tok = next
	}
	if rts[0] == rts[1] || rts[1] == rts[2] || rts[0] == rts[2] {
		t.Fatalf("refresh tokens not distinct: %v", rts)
	}
	for i, rt := range rts {
		if _, err := refreshWith(ctx, conf, rt); err != nil {
			t.Fatalf("refresh token %d no longer works: %v", i, err)
		}
	}
	if got := e.sim.Count(EndpointToken, "refresh_token"); got != 5 {
		t.Errorf("refresh count %d, want 5", got)
	}

	// Graph /me with the latest access token.
	resp, err := conf.Client(ctx, tok).Get(e.srv.URL + "/v1.0/me")
	if err != nil {
		t.Fatal(err)
	}
	var me map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || me["id"] != e.demo.Adele.ObjectID {
		t.Fatalf("/me: %d %v", resp.StatusCode, me)
	}

	// Revocation: every refresh token now fails with invalid_grant 50173.
	mustDo(t, e.sim.RevokeUser(e.demo.Adele.UPN))
	for i, rt := range rts {
		_, err := refreshWith(ctx, conf, rt)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) {
			t.Fatalf("refresh token %d after revocation: %v", i, err)
		}
		var body TokenErrorBody
		if err := json.Unmarshal(re.Body, &body); err != nil {
			t.Fatal(err)
		}
		if re.ErrorCode != "invalid_grant" || body.ErrorCodes[0] != 50173 {
			t.Fatalf("after revocation: %s %v", re.ErrorCode, body.ErrorCodes)
		}
	}
}

func refreshWith(ctx context.Context, conf *oauth2.Config, rt string) (*oauth2.Token, error) {
	return conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt, Expiry: time.Now().Add(-time.Hour)}).Token()
}

// verifyIDToken checks an id_token against the keys the sim publishes, with
// the sim's clock.
func verifyIDToken(t *testing.T, e *testEnv, raw string) jwt.MapClaims {
	t.Helper()
	var doc discoveryDoc
	getJSON(t, e.srv.URL+"/common/v2.0/.well-known/openid-configuration", 200, &doc)
	var set struct {
		Keys []struct{ Kid, N, E string }
	}
	getJSON(t, doc.JWKSURI, 200, &set)
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		n, _ := base64.RawURLEncoding.DecodeString(k.N)
		ex, _ := base64.RawURLEncoding.DecodeString(k.E)
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(ex).Int64())}
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		if k, ok := keys[kid]; ok {
			return k, nil
		}
		return nil, errors.New("unknown kid " + kid)
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(e.demo.WebApp.ClientID),
		jwt.WithIssuedAt(), jwt.WithExpirationRequired(), jwt.WithTimeFunc(e.sim.Now))
	if err != nil {
		t.Fatalf("id_token: %v", err)
	}
	return claims
}
