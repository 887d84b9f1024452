package oauth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/brokerhq/broker/internal/oauth"
)

const (
	fuzzClientID = "11111111-2222-3333-4444-555555555555"
	fuzzTenant   = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	fuzzNonce    = "n-0S6_WzA2Mj"
)

// idTokenIssuer is a minimal Entra: a discovery document and a JWKS with one
// RSA key, whose id_tokens VerifyIDToken accepts.
type idTokenIssuer struct {
	srv *httptest.Server
	key *rsa.PrivateKey
	now time.Time
}

func newIDTokenIssuer(t testing.TB) *idTokenIssuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is := &idTokenIssuer{key: key, now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{authority}/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"jwks_uri": is.srv.URL + "/discovery/v2.0/keys"})
	})
	mux.HandleFunc("GET /discovery/v2.0/keys", func(w http.ResponseWriter, r *http.Request) {
		b64 := base64.RawURLEncoding.EncodeToString
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "RSA", "use": "sig", "kid": "k1",
			"alg": "RS256", "n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes())}}})
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

func (is *idTokenIssuer) mint(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "k1"
	s, err := tok.SignedString(is.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (is *idTokenIssuer) claims() jwt.MapClaims {
	return jwt.MapClaims{"aud": fuzzClientID, "iss": is.srv.URL + "/" + fuzzTenant + "/v2.0", "tid": fuzzTenant,
		"oid": "o1", "preferred_username": "adele@contoso.test", "nonce": fuzzNonce,
		"iat": is.now.Add(-time.Minute).Unix(), "nbf": is.now.Add(-time.Minute).Unix(), "exp": is.now.Add(time.Hour).Unix()}
}

// FuzzVerifyIDToken gives the id_token validator malformed and mutated JWTs.
// It never panics; it accepts a token only when the claims are exactly the
// ones the issuer signed (a mutation never forges content); and its errors,
// which reach logs, never repeat the token.
func FuzzVerifyIDToken(f *testing.F) {
	is := newIDTokenIssuer(f)
	m := &oauth.Microsoft{LoginBase: is.srv.URL, ClientID: fuzzClientID, Now: func() time.Time { return is.now }}
	good := is.mint(f, is.claims())
	if _, err := m.VerifyIDToken(context.Background(), "common", good, fuzzNonce); err != nil {
		f.Fatalf("the well-formed token is refused: %v", err)
	}
	f.Add(good)
	parts := strings.Split(good, ".")
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(parts[0] + ".." + parts[2])
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"k1"}`)) + "." + parts[1] + "." + parts[2])
	f.Add(good + ".extra")
	f.Add("")
	f.Add("not-a-jwt")
	for _, mutate := range []func(jwt.MapClaims){
		func(c jwt.MapClaims) { c["nonce"] = "other" },
		func(c jwt.MapClaims) { c["tid"] = "not-a-guid" },
		func(c jwt.MapClaims) { c["aud"] = "someone-else" },
		func(c jwt.MapClaims) { c["exp"] = is.now.Add(-time.Hour).Unix() },
		func(c jwt.MapClaims) { c["iss"] = "https://evil.test/" + fuzzTenant + "/v2.0" },
		func(c jwt.MapClaims) { c["tid"] = json.Number("1e400") },
	} {
		c := is.claims()
		mutate(c)
		f.Add(is.mint(f, c))
	}
	f.Fuzz(func(t *testing.T, raw string) {
		claims, err := m.VerifyIDToken(context.Background(), "common", raw, fuzzNonce)
		if err == nil {
			if claims.TenantID != fuzzTenant || claims.Nonce != fuzzNonce || claims.ObjectID != "o1" ||
				claims.PreferredUsername != "adele@contoso.test" {
				t.Fatalf("accepted a token with claims %+v", claims)
			}
			return
		}
		if len(raw) >= 12 && strings.Contains(err.Error(), raw) {
			t.Fatalf("error repeats the token: %v", err)
		}
		for _, p := range strings.Split(raw, ".") {
			if len(p) >= 24 && strings.Contains(err.Error(), p) {
				t.Fatalf("error repeats part of the token: %v", err)
			}
		}
	})
}
