package mssim

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/oauth/certtest"
)

// assertionCase builds a client assertion; each field departs from a good
// one in one way.
type assertionCase struct {
	alg      jwt.SigningMethod
	cert     *oauth.Certificate // signs and names the thumbprint
	header   map[string]any     // replaces the thumbprint headers when set
	aud      string
	iss, sub string
	nbf, exp time.Time
	jti      string
}

func signAssertion(t *testing.T, c assertionCase) string {
	t.Helper()
	claims := jwt.MapClaims{"aud": c.aud, "iss": c.iss, "sub": c.sub, "jti": c.jti,
		"nbf": c.nbf.Unix(), "iat": c.nbf.Unix(), "exp": c.exp.Unix()}
	tok := jwt.NewWithClaims(c.alg, claims)
	if c.header != nil {
		for k, v := range c.header {
			tok.Header[k] = v
		}
	} else {
		tok.Header["x5t#S256"] = oauth.X5TS256(c.cert.Cert.Raw)
	}
	s, err := tok.SignedString(c.cert.Key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The sim verifies client assertions as strictly as the documented
// platform: each flaw gets its documented AADSTS code, and the assertion
// the broker's own signer makes is accepted.
func TestClientAssertion(t *testing.T) {
	e := newTestEnv(t)
	now := e.sim.Now()
	registered := certtest.New(t, 0, "daemon", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	other := certtest.New(t, 1, "stranger", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	// Same key as registered, but a different certificate: its thumbprint is unknown.
	reissued := certtest.New(t, 0, "daemon-reissued", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	if err := e.sim.AddCertificate(DemoDaemonClientID, certtest.CertPEM(registered)); err != nil {
		t.Fatal(err)
	}
	tokenURL := e.srv.URL + "/" + DemoContosoTenantID + "/oauth2/v2.0/token"
	good := func() assertionCase {
		return assertionCase{alg: jwt.SigningMethodPS256, cert: registered, aud: tokenURL, iss: DemoDaemonClientID,
			sub: DemoDaemonClientID, nbf: now, exp: now.Add(5 * time.Minute), jti: "jti-" + time.Now().Format(time.RFC3339Nano)}
	}
	sha1x5t := func() string {
		s := sha1.Sum(registered.Cert.Raw)
		return base64.RawURLEncoding.EncodeToString(s[:])
	}()
	post := func(assertion string, kv ...string) tokenResult {
		f := url.Values{"grant_type": {"client_credentials"}, "client_id": {DemoDaemonClientID},
			"scope": {"https://graph.microsoft.com/.default"}, "client_assertion_type": {oauth.AssertionType},
			"client_assertion": {assertion}}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return e.postToken(DemoContosoTenantID, f)
	}
	tests := []struct {
		name   string
		change func(*assertionCase)
		status int
		err    string
		aad    int
	}{
		{"good PS256", func(*assertionCase) {}, 200, "", 0},
		{"good RS256", func(c *assertionCase) { c.alg = jwt.SigningMethodRS256 }, 200, "", 0},
		{"legacy SHA-1 x5t", func(c *assertionCase) { c.header = map[string]any{"x5t": sha1x5t} }, 200, "", 0},
		{"wrong key", func(c *assertionCase) {
			c.cert = &oauth.Certificate{Key: other.Key, Cert: registered.Cert}
		}, 401, "invalid_client", 700027},
		{"unknown certificate", func(c *assertionCase) { c.cert = other }, 401, "invalid_client", 700027},
		{"wrong thumbprint, right key", func(c *assertionCase) { c.cert = reissued }, 401, "invalid_client", 700027},
		{"no thumbprint", func(c *assertionCase) { c.header = map[string]any{} }, 401, "invalid_client", 700027},
		{"HS256", func(c *assertionCase) { c.alg = jwt.SigningMethodHS256 }, 401, "invalid_client", 700027},
		{"not a JWT", func(c *assertionCase) { c.alg = nil }, 400, "invalid_request", 50027},
		{"expired", func(c *assertionCase) {
			c.nbf, c.exp = now.Add(-20*time.Minute), now.Add(-10*time.Minute)
		}, 401, "invalid_client", 700024},
		{"nbf in the future", func(c *assertionCase) {
			c.nbf, c.exp = now.Add(10*time.Minute), now.Add(15*time.Minute)
		}, 401, "invalid_client", 700024},
		{"wrong audience", func(c *assertionCase) {
			c.aud = e.srv.URL + "/" + DemoFabrikamTenantID + "/oauth2/v2.0/token"
		}, 401, "invalid_client", 700023},
		{"audience of v1 endpoint", func(c *assertionCase) {
			c.aud = e.srv.URL + "/" + DemoContosoTenantID + "/oauth2/token"
		}, 401, "invalid_client", 700023},
		{"iss is another app", func(c *assertionCase) { c.iss = DemoWebClientID }, 401, "invalid_client", 700021},
		{"sub is another app", func(c *assertionCase) { c.sub = DemoWebClientID }, 401, "invalid_client", 700021},
		{"no jti", func(c *assertionCase) { c.jti = "" }, 400, "invalid_request", 50027},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			c.jti += string(rune('a' + i))
			tt.change(&c)
			var a string
			if c.alg == nil {
				a = "not.a.jwt"
			} else if c.alg == jwt.SigningMethodHS256 {
				tok := jwt.NewWithClaims(c.alg, jwt.MapClaims{"aud": c.aud, "iss": c.iss, "sub": c.sub, "jti": c.jti, "exp": c.exp.Unix()})
				tok.Header["x5t#S256"] = oauth.X5TS256(registered.Cert.Raw)
				a, _ = tok.SignedString([]byte("a shared secret is not a certificate"))
			} else {
				a = signAssertion(t, c)
			}
			r := post(a)
			if tt.status != 200 {
				wantTokenError(t, r, tt.status, tt.err, tt.aad)
				return
			}
			if r.status != 200 || r.ok.AccessToken == "" {
				t.Fatalf("want a token: %d %s", r.status, r.raw)
			}
		})
	}

	t.Run("replayed jti", func(t *testing.T) {
		c := good()
		c.jti = "replayed"
		a := signAssertion(t, c)
		if r := post(a); r.status != 200 {
			t.Fatalf("first use: %d %s", r.status, r.raw)
		}
		wantTokenError(t, post(a), 401, "invalid_client", 50013)
	})
	t.Run("assertion and secret together", func(t *testing.T) {
		r := post(signAssertion(t, good()), "client_secret", DemoDaemonClientSecret)
		wantTokenError(t, r, 400, "invalid_request", 90023)
	})
	t.Run("wrong assertion type", func(t *testing.T) {
		r := post(signAssertion(t, good()), "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
		wantTokenError(t, r, 400, "invalid_request", 50027)
	})
	t.Run("no assertion type", func(t *testing.T) {
		r := post(signAssertion(t, good()), "client_assertion_type", "")
		wantTokenError(t, r, 400, "invalid_request", 900144)
	})
	t.Run("certificate expired", func(t *testing.T) {
		old := certtest.New(t, 1, "expired", now.AddDate(-1, 0, 0), now.Add(-time.Minute))
		if err := e.sim.AddCertificate(DemoDaemonClientID, certtest.CertPEM(old)); err != nil {
			t.Fatal(err)
		}
		c := good()
		c.cert, c.jti = old, "expired-cert"
		wantTokenError(t, post(signAssertion(t, c)), 401, "invalid_client", 700027)
	})
	t.Run("the broker's signer", func(t *testing.T) {
		for i := range 2 { // a fresh jti each time: no replay
			a, err := registered.Assertion(DemoDaemonClientID, tokenURL, now)
			if err != nil {
				t.Fatal(err)
			}
			if r := post(a); r.status != 200 {
				t.Fatalf("assertion %d: %d %s", i, r.status, r.raw)
			}
		}
	})
}

// Certificates are uploaded and removed through the control API.
func TestCertificateControls(t *testing.T) {
	e := newTestEnv(t)
	now := e.sim.Now()
	c := certtest.New(t, 0, "daemon", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	body, _ := json.Marshal(map[string]string{"certificate": string(certtest.CertPEM(c))})
	ctl := func(method, path string, body []byte) int {
		req, _ := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := ctl(http.MethodPost, "/_sim/apps/"+DemoDaemonClientID+"/certificates", body); s/100 != 2 {
		t.Fatalf("upload: %d", s)
	}
	m := &oauth.Microsoft{LoginBase: e.srv.URL, HTTPClient: http.DefaultClient, Now: e.sim.Now}
	if _, err := m.ClientCredentials(t.Context(), DemoContosoTenantID, DemoDaemonClientID, c); err != nil {
		t.Fatalf("with the uploaded certificate: %v", err)
	}
	if s := ctl(http.MethodDelete, "/_sim/apps/"+DemoDaemonClientID+"/certificates", nil); s/100 != 2 {
		t.Fatalf("remove: %d", s)
	}
	_, err := m.ClientCredentials(t.Context(), DemoContosoTenantID, DemoDaemonClientID, c)
	if oe, ok := err.(*oauth.Error); !ok || oe.AADSTS() != "AADSTS700027" || oe.Class() != oauth.ClassConfig {
		t.Fatalf("after removal: %v, want AADSTS700027 (config)", err)
	}
	if s := ctl(http.MethodPost, "/_sim/apps/"+DemoDaemonClientID+"/certificates", []byte(`{"certificate":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}`)); s/100 == 2 {
		t.Fatalf("a private key was accepted as a certificate upload: %d", s)
	}
}

// Certificates uploaded to apps survive a restart from the state file, as
// an app registration's do.
func TestCertificatesSurviveRestart(t *testing.T) {
	e := newTestEnv(t)
	now := e.sim.Now()
	c := certtest.New(t, 0, "daemon", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	if err := e.sim.AddCertificate(DemoDaemonClientID, certtest.CertPEM(c)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sim.json")
	if err := e.sim.SaveState(path); err != nil {
		t.Fatal(err)
	}
	e2 := restarted(t, path)
	m := &oauth.Microsoft{LoginBase: e2.srv.URL, HTTPClient: http.DefaultClient, Now: e2.sim.Now}
	if _, err := m.ClientCredentials(t.Context(), DemoContosoTenantID, DemoDaemonClientID, c); err != nil {
		t.Fatalf("certificate after restart: %v", err)
	}
}
