package mssim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// testStart is the frozen base clock of every test sim; tests move it with
// Advance.
var testStart = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

const testVerifier = "dBjftJeZ4CVP-mJ92K9xtF6a1mh3gHhcuLmTpa6m0YwEXAMPLE"

type testEnv struct {
	t    testing.TB
	sim  *Sim
	demo Demo
	srv  *httptest.Server
}

func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	sim := New(Options{Now: func() time.Time { return testStart }})
	demo := SeedDemo(sim, DemoConfig{})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &testEnv{t: t, sim: sim, demo: demo, srv: srv}
}

// authURL builds an authorize URL for the demo web app; params override or,
// with an empty value, remove the defaults.
func (e *testEnv) authURL(tenant string, params map[string]string) string {
	q := url.Values{
		"client_id":             {e.demo.WebApp.ClientID},
		"response_type":         {"code"},
		"redirect_uri":          {DemoRedirectURI},
		"response_mode":         {"query"},
		"scope":                 {"openid profile offline_access User.Read Mail.Read"},
		"state":                 {"st-123"},
		"nonce":                 {"n-456"},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(testVerifier)},
		"code_challenge_method": {"S256"},
	}
	for k, v := range params {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	return e.srv.URL + "/" + tenant + "/oauth2/v2.0/authorize?" + q.Encode()
}

// signIn drives the pages; it fails the test unless the flow ends in a
// redirect to the app.
func (e *testEnv) signIn(client *http.Client, authURL, account string, opts SignInOptions) url.Values {
	e.t.Helper()
	loc, err := SignIn(context.Background(), client, authURL, account, opts)
	if err != nil {
		e.t.Fatalf("SignIn(%s): %v", account, err)
	}
	if !strings.HasPrefix(loc.String(), DemoRedirectURI) {
		e.t.Fatalf("redirected to %s, want the app's redirect URI", loc)
	}
	return loc.Query()
}

// code signs account in with default parameters and returns the code.
func (e *testEnv) code(tenant, account string, params map[string]string) string {
	e.t.Helper()
	q := e.signIn(nil, e.authURL(tenant, params), account, SignInOptions{})
	if q.Get("code") == "" {
		e.t.Fatalf("no code in redirect: %v", q)
	}
	return q.Get("code")
}

type tokenResult struct {
	status int
	header http.Header
	ok     tokenResponse
	err    TokenErrorBody
	raw    string
}

// postToken calls the token endpoint with client_secret in the body.
func (e *testEnv) postToken(tenant string, form url.Values) tokenResult {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/"+tenant+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(req)
}

func (e *testEnv) do(req *http.Request) tokenResult {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	r := tokenResult{status: resp.StatusCode, header: resp.Header, raw: string(body)}
	if resp.StatusCode == http.StatusOK {
		err = json.Unmarshal(body, &r.ok)
	} else {
		err = json.Unmarshal(body, &r.err)
	}
	if err != nil && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		e.t.Fatalf("token response %d not JSON: %v: %s", resp.StatusCode, err, body)
	}
	return r
}

// webForm is a token request from the demo web app.
func (e *testEnv) webForm(kv ...string) url.Values {
	f := url.Values{"client_id": {e.demo.WebApp.ClientID}, "client_secret": {e.demo.WebApp.Secret}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			f.Del(kv[i])
		} else {
			f.Set(kv[i], kv[i+1])
		}
	}
	return f
}

// redeem signs in and redeems the code, failing the test on any error.
func (e *testEnv) redeem(tenant, account string, params map[string]string) tokenResponse {
	e.t.Helper()
	code := e.code(tenant, account, params)
	r := e.postToken(tenant, e.webForm("grant_type", "authorization_code", "code", code,
		"redirect_uri", DemoRedirectURI, "code_verifier", testVerifier))
	if r.status != http.StatusOK {
		e.t.Fatalf("redeem: %d %s", r.status, r.raw)
	}
	return r.ok
}

func (e *testEnv) refresh(tenant, rt string, kv ...string) tokenResult {
	e.t.Helper()
	return e.postToken(tenant, e.webForm(append([]string{"grant_type", "refresh_token", "refresh_token", rt}, kv...)...))
}

// wantTokenError checks status, error and error_codes[0].
func wantTokenError(t *testing.T, r tokenResult, status int, errCode string, code int) {
	t.Helper()
	if r.status != status || r.err.Error != errCode || len(r.err.ErrorCodes) != 1 || r.err.ErrorCodes[0] != code {
		t.Fatalf("got %d %s %v, want %d %s [%d]: %s", r.status, r.err.Error, r.err.ErrorCodes, status, errCode, code, r.raw)
	}
}

// graphGet calls Graph and decodes the body.
func (e *testEnv) graphGet(path, token string) (int, map[string]any, GraphErrorBody) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var ok map[string]any
	var ge GraphErrorBody
	_ = json.Unmarshal(body, &ok)
	_ = json.Unmarshal(body, &ge)
	return resp.StatusCode, ok, ge
}

func jarClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

// pageCode returns the AADSTS code of a sign-in that stopped on a page.
func pageCode(t *testing.T, err error) int {
	t.Helper()
	var pe *PageError
	if !errors.As(err, &pe) {
		t.Fatalf("want a *PageError, got %v", err)
	}
	return pe.Code
}

// redirectCode parses error and the AADSTS code from an error redirect.
func redirectCode(q url.Values) (string, string) {
	desc := q.Get("error_description")
	code, _, _ := strings.Cut(strings.TrimPrefix(desc, "AADSTS"), ":")
	return q.Get("error"), code
}
