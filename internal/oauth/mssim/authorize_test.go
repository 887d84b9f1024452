package mssim

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Requests Entra refuses before anyone signs in: shown on a page when the
// redirect URI cannot be trusted yet, redirected with state afterwards.
func TestAuthorizeRequestValidation(t *testing.T) {
	e := newTestEnv(t)
	tests := []struct {
		name     string
		tenant   string
		params   map[string]string
		page     int    // AADSTS code on the sim's own page
		redirErr string // error redirected to the app
		redirAAD string
	}{
		{name: "unknown tenant", tenant: "nowhere.onmicrosoft.com", page: 90002},
		{name: "unknown client", tenant: "common", params: map[string]string{"client_id": "99999999-9999-9999-9999-999999999999"}, page: 700016},
		{name: "no redirect URI", tenant: "common", params: map[string]string{"redirect_uri": ""}, page: 900971},
		{name: "redirect URI not exact", tenant: "common", params: map[string]string{"redirect_uri": DemoRedirectURI + "/"}, page: 50011},
		{name: "single-tenant app on common", tenant: "common", params: map[string]string{"client_id": DemoDaemonClientID}, page: 50194},
		{name: "single-tenant app in other tenant", tenant: DemoFabrikamTenantID, params: map[string]string{"client_id": DemoDaemonClientID}, page: 700016},
		{name: "response_type token", tenant: "common", params: map[string]string{"response_type": "token"}, redirErr: "unsupported_response_type", redirAAD: "700054"},
		{name: "no response_type", tenant: "common", params: map[string]string{"response_type": ""}, redirErr: "invalid_request", redirAAD: "900144"},
		{name: "form_post not simulated", tenant: "common", params: map[string]string{"response_mode": "form_post"}, redirErr: "invalid_request", redirAAD: "70007"},
		{name: "no scope", tenant: "common", params: map[string]string{"scope": ""}, redirErr: "invalid_request", redirAAD: "900144"},
		{name: "unknown scope", tenant: "common", params: map[string]string{"scope": "openid Mail.Fly"}, redirErr: "invalid_scope", redirAAD: "70011"},
		{name: "other resource", tenant: "common", params: map[string]string{"scope": "https://outlook.office.com/Mail.Read"}, redirErr: "invalid_resource", redirAAD: "500011"},
		{name: "PKCE required", tenant: "common", params: map[string]string{"code_challenge": "", "code_challenge_method": ""}, redirErr: "invalid_request", redirAAD: "900144"},
		{name: "PKCE plain refused", tenant: "common", params: map[string]string{"code_challenge": testVerifier, "code_challenge_method": "plain"}, redirErr: "invalid_request", redirAAD: "90100"},
		{name: "PKCE challenge too short", tenant: "common", params: map[string]string{"code_challenge": "abc"}, redirErr: "invalid_request", redirAAD: "501491"},
		{name: "bad prompt", tenant: "common", params: map[string]string{"prompt": "always"}, redirErr: "invalid_request", redirAAD: "90100"},
		{name: "select_account with login_hint", tenant: "common", params: map[string]string{"prompt": "select_account", "login_hint": "adele@contoso.onmicrosoft.com"}, redirErr: "invalid_request", redirAAD: "90005"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := SignIn(context.Background(), nil, e.authURL(tt.tenant, tt.params), e.demo.Adele.UPN, SignInOptions{})
			if tt.page != 0 {
				if got := pageCode(t, err); got != tt.page {
					t.Fatalf("page code %d, want %d", got, tt.page)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			q := loc.Query()
			if errCode, aad := redirectCode(q); errCode != tt.redirErr || aad != tt.redirAAD {
				t.Fatalf("redirect %s AADSTS%s, want %s AADSTS%s (%v)", errCode, aad, tt.redirErr, tt.redirAAD, q)
			}
			if q.Get("state") != "st-123" {
				t.Fatalf("state %q not passed back", q.Get("state"))
			}
		})
	}
}

// Account type rules: which account may sign in on which authority.
func TestAuthorizeAccountRules(t *testing.T) {
	e := newTestEnv(t)
	d := e.demo
	tests := []struct {
		tenant, account string
		page            int // 0: signs in
	}{
		{"common", d.Adele.UPN, 0},
		{"common", d.Megan.UPN, 0},
		{"common", d.Pat.UPN, 0},
		{"organizations", d.Adele.UPN, 0},
		{"organizations", d.Pat.UPN, 500208},
		{"consumers", d.Pat.UPN, 0},
		{"consumers", d.Adele.UPN, 500208},
		{ConsumersTenantID, d.Pat.UPN, 0},
		{ConsumersTenantID, d.Megan.UPN, 500208},
		{DemoContosoDomain, d.Adele.UPN, 0},
		{DemoContosoTenantID, d.Alex.UPN, 0},
		{DemoFabrikamTenantID, d.Adele.UPN, 50020},
		{DemoContosoDomain, d.Pat.UPN, 50020},
		{DemoFabrikamDomain, d.Megan.UPN, 0},
		{"common", "nobody@contoso.onmicrosoft.com", 50034},
		{DemoContosoDomain, "nobody@contoso.onmicrosoft.com", 50034},
	}
	for _, tt := range tests {
		t.Run(tt.tenant+"/"+tt.account, func(t *testing.T) {
			loc, err := SignIn(context.Background(), nil, e.authURL(tt.tenant, map[string]string{"scope": "openid User.Read"}), tt.account, SignInOptions{})
			if tt.page != 0 {
				if got := pageCode(t, err); got != tt.page {
					t.Fatalf("page code %d, want %d", got, tt.page)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if loc.Query().Get("code") == "" || loc.Query().Get("state") != "st-123" {
				t.Fatalf("want a code and the state, got %s", loc)
			}
		})
	}
}

// Consent: unticking, cancelling, admin-only scopes and remembered consent.
func TestAuthorizeConsent(t *testing.T) {
	e := newTestEnv(t)
	d := e.demo
	shared := map[string]string{"scope": "openid offline_access User.Read Mail.ReadWrite.Shared"}
	tests := []struct {
		name      string
		tenant    string
		account   string
		params    map[string]string
		opts      SignInOptions
		setup     func(*testing.T)
		wantErr   string
		wantAAD   string
		wantScope string // token scope after redeeming; "" skips
		wantRT    bool
	}{
		{name: "all accepted", tenant: "common", account: d.Adele.UPN,
			wantScope: "https://graph.microsoft.com/User.Read https://graph.microsoft.com/Mail.Read openid profile offline_access", wantRT: true},
		{name: "Mail.Read unticked", tenant: "common", account: d.Alex.UPN, opts: SignInOptions{Untick: []string{"Mail.Read"}},
			wantScope: "https://graph.microsoft.com/User.Read openid profile offline_access", wantRT: true},
		{name: "offline_access unticked", tenant: "common", account: d.Pat.UPN, opts: SignInOptions{Untick: []string{"offline_access"}},
			wantScope: "https://graph.microsoft.com/User.Read https://graph.microsoft.com/Mail.Read openid profile"},
		{name: "cancel", tenant: "common", account: d.Megan.UPN, opts: SignInOptions{Cancel: true},
			wantErr: "access_denied", wantAAD: "65004"},
		{name: "everything unticked", tenant: "common", account: d.ContosoAdmin.UPN,
			opts:    SignInOptions{Untick: []string{"openid", "profile", "offline_access", "User.Read", "Mail.Read"}},
			wantErr: "access_denied", wantAAD: "65004"},
		{name: ".Shared in Contoso needs no admin", tenant: "organizations", account: d.Adele.UPN, params: shared,
			wantScope: "https://graph.microsoft.com/User.Read https://graph.microsoft.com/Mail.ReadWrite.Shared openid offline_access", wantRT: true},
		{name: ".Shared in Fabrikam needs an admin", tenant: "organizations", account: d.Megan.UPN, params: shared,
			wantErr: "consent_required", wantAAD: "65001"},
		{name: ".Shared in Fabrikam after admin consent", tenant: "organizations", account: d.Megan.UPN, params: shared,
			setup: func(t *testing.T) {
				if err := e.sim.GrantAdminConsent(DemoFabrikamTenantID, d.WebApp.ClientID, "Mail.ReadWrite.Shared"); err != nil {
					t.Fatal(err)
				}
			},
			wantScope: "https://graph.microsoft.com/User.Read https://graph.microsoft.com/Mail.ReadWrite.Shared openid offline_access", wantRT: true},
		{name: "admin-only scope, user", tenant: "common", account: d.Alex.UPN, params: map[string]string{"scope": "User.Read.All"},
			wantErr: "consent_required", wantAAD: "65001"},
		{name: "admin-only scope, admin for self", tenant: "common", account: d.ContosoAdmin.UPN, params: map[string]string{"scope": "User.Read.All"},
			wantScope: "https://graph.microsoft.com/User.Read.All"},
		{name: ".default is the configured scopes", tenant: DemoContosoTenantID, account: d.Alex.UPN,
			params:    map[string]string{"scope": "https://graph.microsoft.com/.default"},
			wantScope: "https://graph.microsoft.com/User.Read https://graph.microsoft.com/Mail.ReadWrite https://graph.microsoft.com/Mail.Send https://graph.microsoft.com/Mail.ReadWrite.Shared https://graph.microsoft.com/Calendars.ReadWrite https://graph.microsoft.com/Calendars.ReadWrite.Shared openid profile email offline_access", wantRT: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup(t)
			}
			q := e.signIn(nil, e.authURL(tt.tenant, tt.params), tt.account, tt.opts)
			if errCode, aad := redirectCode(q); errCode != tt.wantErr || aad != tt.wantAAD {
				t.Fatalf("redirect error %q AADSTS%s, want %q AADSTS%s: %v", errCode, aad, tt.wantErr, tt.wantAAD, q)
			}
			if q.Get("state") != "st-123" {
				t.Fatalf("state %q", q.Get("state"))
			}
			if tt.wantErr == "access_denied" && q.Get("error_subcode") != "cancel" && tt.opts.Cancel {
				t.Fatalf("cancel without error_subcode=cancel: %v", q)
			}
			if tt.wantErr != "" {
				return
			}
			r := e.postToken(tt.tenant, e.webForm("grant_type", "authorization_code", "code", q.Get("code"),
				"redirect_uri", DemoRedirectURI, "code_verifier", testVerifier))
			if r.status != 200 {
				t.Fatalf("redeem: %s", r.raw)
			}
			if r.ok.Scope != tt.wantScope {
				t.Errorf("scope %q, want %q", r.ok.Scope, tt.wantScope)
			}
			if (r.ok.RefreshToken != "") != tt.wantRT {
				t.Errorf("refresh token present = %v, want %v", r.ok.RefreshToken != "", tt.wantRT)
			}
			if hasOpenID := strings.Contains(tt.wantScope, "openid"); (r.ok.IDToken != "") != hasOpenID {
				t.Errorf("id_token present = %v, want %v", r.ok.IDToken != "", hasOpenID)
			}
		})
	}
}

// A second sign-in for scopes already consented skips the consent page;
// prompt=consent shows it anyway.
func TestAuthorizeRemembersConsent(t *testing.T) {
	e := newTestEnv(t)
	for i, tt := range []struct {
		prompt       string
		consentPosts int64
	}{{"", 1}, {"", 0}, {"consent", 1}, {"login", 0}} {
		e.sim.ResetCounts()
		e.code("common", e.demo.Adele.UPN, map[string]string{"prompt": tt.prompt})
		if got := e.sim.Count(EndpointConsent, ""); got != tt.consentPosts {
			t.Fatalf("sign-in %d (prompt=%q): %d consent posts, want %d", i, tt.prompt, got, tt.consentPosts)
		}
	}
}

// state comes back byte for byte, whatever it holds.
func TestAuthorizeStateUntouched(t *testing.T) {
	e := newTestEnv(t)
	for _, state := range []string{"a b&c=d/é?%20+", strings.Repeat("x", 500), "=="} {
		q := e.signIn(nil, e.authURL("common", map[string]string{"state": state}), e.demo.Adele.UPN, SignInOptions{})
		if q.Get("state") != state {
			t.Fatalf("state %q came back as %q", state, q.Get("state"))
		}
	}
}

// prompt=none: login_required without a session, a code with one,
// consent_required for scopes not yet consented, login_required after
// revocation.
func TestAuthorizePromptNone(t *testing.T) {
	e := newTestEnv(t)
	none := func(scope string) map[string]string { return map[string]string{"prompt": "none", "scope": scope} }
	jar := jarClient(t)
	q := e.signIn(jar, e.authURL("common", none("openid User.Read")), "", SignInOptions{})
	if errCode, aad := redirectCode(q); errCode != "login_required" || aad != "50058" {
		t.Fatalf("no session: %v", q)
	}
	e.signIn(jar, e.authURL("common", nil), e.demo.Adele.UPN, SignInOptions{})
	if q := e.signIn(jar, e.authURL("common", none("openid User.Read")), "", SignInOptions{}); q.Get("code") == "" {
		t.Fatalf("session: want a code, got %v", q)
	}
	q = e.signIn(jar, e.authURL("common", none("openid Calendars.Read")), "", SignInOptions{})
	if errCode, aad := redirectCode(q); errCode != "consent_required" || aad != "65001" {
		t.Fatalf("new scope: %v", q)
	}
	q = e.signIn(jar, e.authURL("common", map[string]string{"prompt": "none", "login_hint": e.demo.Alex.UPN}), "", SignInOptions{})
	if errCode, _ := redirectCode(q); errCode != "login_required" {
		t.Fatalf("other login_hint: %v", q)
	}
	if err := e.sim.RevokeUser(e.demo.Adele.UPN); err != nil {
		t.Fatal(err)
	}
	q = e.signIn(jar, e.authURL("common", none("openid User.Read")), "", SignInOptions{})
	if errCode, _ := redirectCode(q); errCode != "login_required" {
		t.Fatalf("after revocation: %v", q)
	}
}

// The pages carry the ids browser tests click on, and login_hint fills the
// account field.
func TestAuthorizePageElements(t *testing.T) {
	e := newTestEnv(t)
	resp, err := http.Get(e.authURL("common", map[string]string{"login_hint": "adele@contoso.onmicrosoft.com"}))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`name="login"`, `id="next"`, `value="adele@contoso.onmicrosoft.com"`, `id="account-0"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("sign-in page lacks %s", want)
		}
	}
	ctx := reCtx.FindStringSubmatch(string(body))[1]
	resp, err = http.PostForm(e.srv.URL+"/common/login", map[string][]string{"ctx": {ctx}, "login": {e.demo.Adele.UPN}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`id="accept"`, `id="cancel"`, `name="scope" value="https://graph.microsoft.com/Mail.Read"`, `name="scope" value="offline_access"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("consent page lacks %s", want)
		}
	}
}
