package securitytest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Claim: every page carries the headers that keep it from being framed,
// sniffed, cached by intermediaries or running injected script.
func TestPagesCarrySecurityHeaders(t *testing.T) {
	b := start(t)
	admin := b.signInA(t)
	anon := b.client(t)
	pages := []struct {
		c    *client
		path string
	}{
		{anon, "/login"}, {anon, "/oauth/callback?state=x&code=y"}, {admin, "/"}, {admin, "/connections"},
		{admin, "/connections/new"}, {admin, "/connections/" + b.A.ConnectionID}, {admin, "/audit"}, {admin, "/api-keys"},
		{admin, "/connections/00000000-0000-4000-8000-000000000000"},
	}
	for _, p := range pages {
		res := p.c.get(p.path)
		h := res.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", p.path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP allows inline or eval: %q", p.path, csp)
		}
		for name, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"} {
			if h.Get(name) != want {
				t.Errorf("%s: %s = %q, want %q", p.path, name, h.Get(name), want)
			}
		}
		if ct := h.Get("Content-Type"); res.StatusCode == http.StatusOK && !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: Content-Type %q", p.path, ct)
		}
		if res.StatusCode == http.StatusOK && p.c == admin && h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: a page with tenant data has Cache-Control %q", p.path, h.Get("Cache-Control"))
		}
	}
	// The callback URL holds the code: it is never sent onward as a Referer.
	if rp := anon.get("/oauth/callback?state=x&code=y").Header.Get("Referrer-Policy"); rp != "no-referrer" {
		t.Errorf("callback Referrer-Policy %q", rp)
	}
	// The token answer holds a token: never cached.
	if cc := anon.bearer(b.A.APIKey, "/api/v1/connections/"+b.A.ConnectionID+"/token").Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("token answer Cache-Control %q", cc)
	}
}

// Claim: the session cookie is HttpOnly and SameSite=Lax, holds no
// readable data, and changes at sign-in (no fixation); sign-out ends it
// on the server, so a copied cookie is dead.
func TestSessionCookieFlagsFixationAndSignOut(t *testing.T) {
	b := start(t)
	c := b.client(t)
	res := c.post("/login", url.Values{"email": {b.A.AdminEmail}, "password": {b.A.AdminPassword}})
	wantStatus(t, res, http.StatusSeeOther)
	var session *http.Cookie
	for _, ck := range res.Cookies() {
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
			t.Errorf("cookie %s: HttpOnly=%v SameSite=%v", ck.Name, ck.HttpOnly, ck.SameSite)
		}
		if strings.Contains(ck.Value, b.A.AdminEmail) || strings.Contains(ck.Value, b.A.TenantID) {
			t.Errorf("cookie %s carries readable identity", ck.Name)
		}
		if ck.MaxAge >= 0 && ck.Value != "" {
			session = ck
		}
	}
	if session == nil {
		t.Fatal("no session cookie set at sign-in")
	}
	// A cookie planted before sign-in is not the one signed in.
	planted := b.client(t)
	u, _ := url.Parse(b.URL)
	planted.c.Jar.SetCookies(u, []*http.Cookie{{Name: session.Name, Value: "attacker-chosen", Path: "/"}})
	res = planted.post("/login", url.Values{"email": {b.A.AdminEmail}, "password": {b.A.AdminPassword}})
	for _, ck := range res.Cookies() {
		if ck.Name == session.Name && ck.Value == "attacker-chosen" {
			t.Error("sign-in kept a planted session cookie")
		}
	}
	// A copy of the cookie works until sign-out, then never again.
	copyOf := b.client(t)
	copyOf.c.Jar.SetCookies(u, []*http.Cookie{{Name: session.Name, Value: session.Value, Path: "/"}})
	wantStatus(t, copyOf.get("/connections"), http.StatusOK)
	wantStatus(t, c.post("/logout", nil), http.StatusSeeOther)
	if res := copyOf.get("/connections"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Errorf("a copied cookie still works after sign-out: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
}

// Claim: an unsafe request from another site (CSRF) is refused before it
// does anything, even with a valid session cookie.
func TestCrossSiteFormPostsAreRefused(t *testing.T) {
	b := start(t)
	admin := b.signInA(t)
	keysBefore := strings.Count(admin.get("/api-keys").Body, "<tr")
	probes := []struct {
		path string
		form url.Values
	}{
		{"/api-keys", url.Values{"name": {"planted"}}},
		{"/connections/" + b.A.ConnectionID + "/disable", url.Values{"reason": {"csrf"}}},
		{"/settings/approval", url.Values{"require": {"on"}}},
		{"/connections", newConnectionForm("csrf", b.projectID(t, "Sales"))},
		{"/logout", nil},
	}
	for _, p := range probes {
		for _, hdr := range []map[string]string{{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}} {
			req, _ := http.NewRequest(http.MethodPost, b.URL+p.path, strings.NewReader(p.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			if res := admin.do(req); res.StatusCode != http.StatusForbidden {
				t.Errorf("cross-site POST %s (%v): %d, want 403", p.path, hdr, res.StatusCode)
			}
		}
	}
	c, err := b.App.Store.Connection(t.Context(), b.A.TenantID, b.A.ConnectionID)
	if err != nil || c.Status != "active" {
		t.Fatalf("the connection changed: %s %v", c.Status, err)
	}
	if n := strings.Count(admin.get("/api-keys").Body, "<tr"); n != keysBefore {
		t.Fatalf("api keys rows %d -> %d", keysBefore, n)
	}
	wantStatus(t, admin.get("/connections"), http.StatusOK) // still signed in: /logout was refused too
}

// Claim: the API and /metrics carry headers too (nosniff, no framing, a
// deny-all CSP, no-store), and /metrics is not on the public listener unless
// the operator puts it there.
func TestAPIHeadersAndMetricsOffThePublicListener(t *testing.T) {
	b := start(t)
	c := b.client(t)
	for _, res := range []response{c.bearer(b.A.APIKey, "/api/v1/connections/"+b.A.ConnectionID+"/token"),
		c.bearer(b.A.APIKey, "/api/v1/connections/00000000-0000-4000-8000-000000000000"), c.get("/api/v1/connections")} {
		h := res.Header
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" ||
			h.Get("Cache-Control") != "no-store" || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("%s (%d): headers %v", res.Request.URL.Path, res.StatusCode, h)
		}
	}
	if res := c.get("/metrics"); res.StatusCode != http.StatusNotFound || strings.Contains(res.Body, "go_goroutines") {
		t.Errorf("/metrics on the public listener: %d", res.StatusCode)
	}
}
