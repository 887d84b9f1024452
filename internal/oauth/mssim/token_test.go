package mssim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The authorization_code grant, one rule per case.
func TestTokenAuthorizationCode(t *testing.T) {
	e := newTestEnv(t)
	other := App{ClientID: "22223333-cccc-4444-dddd-5555eeee6666", Name: "Other", HomeTenant: DemoContosoTenantID,
		RedirectURIs: []string{DemoRedirectURI}, Secrets: []Secret{{Value: "other-secret"}}}
	if err := e.sim.RegisterApp(other); err != nil {
		t.Fatal(err)
	}
	redeem := func(tenant, code string, kv ...string) tokenResult {
		return e.postToken(tenant, e.webForm(append([]string{"grant_type", "authorization_code", "code", code,
			"redirect_uri", DemoRedirectURI, "code_verifier", testVerifier}, kv...)...))
	}
	tests := []struct {
		name    string
		run     func(t *testing.T) tokenResult
		status  int
		errCode string
		aad     int
	}{
		{name: "redeemed", status: 200, run: func(t *testing.T) tokenResult {
			return redeem("common", e.code("common", e.demo.Adele.UPN, nil))
		}},
		{name: "second redemption", status: 400, errCode: "invalid_grant", aad: 54005, run: func(t *testing.T) tokenResult {
			code := e.code("common", e.demo.Adele.UPN, nil)
			if r := redeem("common", code); r.status != 200 {
				t.Fatalf("first redemption: %s", r.raw)
			}
			return redeem("common", code)
		}},
		{name: "older than 10 minutes", status: 400, errCode: "invalid_grant", aad: 70008, run: func(t *testing.T) tokenResult {
			code := e.code("common", e.demo.Adele.UPN, nil)
			e.sim.Advance(10*time.Minute + time.Second)
			return redeem("common", code)
		}},
		{name: "9 minutes old", status: 200, run: func(t *testing.T) tokenResult {
			code := e.code("common", e.demo.Adele.UPN, nil)
			e.sim.Advance(9 * time.Minute)
			return redeem("common", code)
		}},
		{name: "wrong verifier", status: 400, errCode: "invalid_grant", aad: 501481, run: func(t *testing.T) tokenResult {
			return redeem("common", e.code("common", e.demo.Adele.UPN, nil), "code_verifier", testVerifier+"x")
		}},
		{name: "no verifier", status: 400, errCode: "invalid_request", aad: 900144, run: func(t *testing.T) tokenResult {
			return redeem("common", e.code("common", e.demo.Adele.UPN, nil), "code_verifier", "")
		}},
		{name: "other redirect URI", status: 400, errCode: "invalid_grant", aad: 500112, run: func(t *testing.T) tokenResult {
			return redeem("common", e.code("common", e.demo.Adele.UPN, nil), "redirect_uri", "http://localhost:8080/other")
		}},
		{name: "no redirect URI", status: 400, errCode: "invalid_request", aad: 900144, run: func(t *testing.T) tokenResult {
			return redeem("common", e.code("common", e.demo.Adele.UPN, nil), "redirect_uri", "")
		}},
		{name: "unknown code", status: 400, errCode: "invalid_grant", aad: 70000, run: func(t *testing.T) tokenResult {
			return redeem("common", "1.AQsimnot-a-code")
		}},
		{name: "code of another client", status: 400, errCode: "invalid_grant", aad: 70000, run: func(t *testing.T) tokenResult {
			return redeem("common", e.code("common", e.demo.Adele.UPN, nil), "client_id", other.ClientID, "client_secret", "other-secret")
		}},
		{name: "redeemed in the user's tenant", status: 200, run: func(t *testing.T) tokenResult {
			return redeem(DemoContosoDomain, e.code("common", e.demo.Adele.UPN, nil))
		}},
		{name: "redeemed in another tenant", status: 400, errCode: "invalid_grant", aad: 700005, run: func(t *testing.T) tokenResult {
			return redeem(DemoFabrikamTenantID, e.code("organizations", e.demo.Adele.UPN, nil))
		}},
		{name: "scope subset on redemption", status: 200, run: func(t *testing.T) tokenResult {
			r := redeem("common", e.code("common", e.demo.Adele.UPN, nil), "scope", "User.Read")
			if !strings.HasPrefix(r.ok.Scope, "https://graph.microsoft.com/User.Read openid") {
				t.Errorf("scope %q", r.ok.Scope)
			}
			return r
		}},
		{name: "scope beyond the grant", status: 400, errCode: "invalid_grant", aad: 65001, run: func(t *testing.T) tokenResult {
			return redeem("common", e.code("common", e.demo.Adele.UPN, nil), "scope", "Mail.Send")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.run(t)
			if tt.status == 200 {
				if r.status != 200 || r.ok.AccessToken == "" || r.ok.TokenType != "Bearer" {
					t.Fatalf("want success, got %d %s", r.status, r.raw)
				}
				return
			}
			wantTokenError(t, r, tt.status, tt.errCode, tt.aad)
		})
	}
}

// Client authentication and request shape, common to every grant.
func TestTokenClientAuthAndShape(t *testing.T) {
	e := newTestEnv(t)
	rt := e.redeem("common", e.demo.Adele.UPN, nil).RefreshToken
	basic := func(id, secret string) tokenResult {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/common/oauth2/v2.0/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		return e.do(req)
	}
	tests := []struct {
		name    string
		run     func() tokenResult
		status  int
		errCode string
		aad     int
	}{
		{"secret in body", func() tokenResult { return e.refresh("common", rt) }, 200, "", 0},
		{"HTTP Basic", func() tokenResult { return basic(e.demo.WebApp.ClientID, e.demo.WebApp.Secret) }, 200, "", 0},
		{"wrong secret in body", func() tokenResult { return e.refresh("common", rt, "client_secret", "nope") }, 401, "invalid_client", 7000215},
		{"wrong secret in Basic", func() tokenResult { return basic(e.demo.WebApp.ClientID, "nope") }, 401, "invalid_client", 7000215},
		{"no secret", func() tokenResult { return e.refresh("common", rt, "client_secret", "") }, 401, "invalid_client", 7000218},
		{"no client_id", func() tokenResult { return e.refresh("common", rt, "client_id", "") }, 400, "invalid_request", 900144},
		{"unknown client", func() tokenResult {
			return e.refresh("common", rt, "client_id", "99999999-9999-9999-9999-999999999999")
		}, 400, "unauthorized_client", 700016},
		{"no grant_type", func() tokenResult { return e.postToken("common", e.webForm("refresh_token", rt)) }, 400, "invalid_request", 900144},
		{"password grant", func() tokenResult { return e.postToken("common", e.webForm("grant_type", "password")) }, 400, "unsupported_grant_type", 70003},
		{"unknown tenant", func() tokenResult { return e.refresh("nowhere.example", rt) }, 400, "invalid_request", 90002},
		{"GET", func() tokenResult {
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/common/oauth2/v2.0/token", nil)
			return e.do(req)
		}, 400, "invalid_request", 900561},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.run()
			if tt.status == 200 {
				if r.status != 200 {
					t.Fatalf("want success, got %s", r.raw)
				}
				return
			}
			wantTokenError(t, r, tt.status, tt.errCode, tt.aad)
		})
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
