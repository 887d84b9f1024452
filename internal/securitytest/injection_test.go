package securitytest

import (
	"context"
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const xss = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>`

// Claim: text a person types is stored as typed and always rendered
// escaped: a connection named with markup shows as text on every page.
func TestStoredMarkupIsEscapedOnEveryPage(t *testing.T) {
	b := start(t)
	ctx := context.Background()
	admin := b.signInA(t)
	res := admin.post("/connections", newConnectionForm(xss, b.projectID(t, "Sales")))
	wantStatus(t, res, http.StatusOK) // the hand-off to Microsoft: the connection exists, pending
	page, err := b.App.Store.QueryConnections(ctx, storeQuery(b.A.TenantID))
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, r := range page.Rows {
		if r.Name == xss {
			id = r.ID
		}
	}
	if id == "" {
		t.Fatal("the connection was not stored under its name as typed")
	}
	for _, p := range []string{"/connections", "/connections/" + id, "/connections/" + id + "/confirm/delete", "/audit"} {
		res := admin.get(p)
		wantStatus(t, res, http.StatusOK)
		if strings.Contains(res.Body, "<script>alert") || strings.Contains(res.Body, "<img src=x") {
			t.Errorf("%s renders the markup unescaped", p)
		}
		if p != "/audit" && !strings.Contains(res.Body, html.EscapeString("<script>alert(1)</script>")) {
			t.Errorf("%s does not show the name as text", p)
		}
	}
	// Re-rendered with an error (no project), the form keeps the value, escaped.
	form := newConnectionForm(xss, "")
	res = admin.post("/connections", form)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if strings.Contains(res.Body, "<script>alert") || !strings.Contains(res.Body, "&lt;script&gt;") {
		t.Error("the re-rendered form does not escape the name")
	}
}

// Claim: parameters never become SQL text or markup: quotes, comments and
// LIKE wildcards match only themselves, and nothing answers 500.
func TestParametersReachNoSQLTextAndComeBackEscaped(t *testing.T) {
	b := start(t)
	admin := b.signInA(t)
	payloads := []string{xss, `' OR '1'='1`, `'; DROP TABLE connections; --`, `%`, `_`, `\`, `$1`, `") OR 1=1 --`}
	for _, p := range payloads {
		for _, param := range []string{"q", "status", "sort", "project", "account_type", "auth_type", "tenant", "limit"} {
			res := admin.get("/connections?" + url.Values{param: {p}}.Encode())
			if res.StatusCode >= 500 {
				t.Errorf("/connections?%s=%q: %d", param, p, res.StatusCode)
			}
			if strings.Contains(res.Body, "<script>alert") {
				t.Errorf("/connections?%s= reflects markup unescaped", param)
			}
			if param == "q" && strings.Contains(res.Body, b.A.ConnectionName) {
				t.Errorf("search %q matched %q: the pattern reached SQL as text", p, b.A.ConnectionName)
			}
		}
		for _, param := range []string{"actor", "type", "connection"} {
			res := admin.get("/audit?" + url.Values{param: {p}}.Encode())
			if res.StatusCode >= 500 || strings.Contains(res.Body, "<script>alert") {
				t.Errorf("/audit?%s=%q: %d or unescaped", param, p, res.StatusCode)
			}
		}
		api := b.client(t)
		for _, path := range []string{"/api/v1/connections/" + url.PathEscape(p) + "/token", "/api/v1/connections/" + url.PathEscape(p),
			"/api/v1/connections/" + b.A.ConnectionID + "/token?" + url.Values{"min_ttl": {p}, "force_refresh": {p}}.Encode()} {
			res := api.bearer(b.A.APIKey, path)
			if res.StatusCode >= 500 || res.StatusCode == http.StatusOK || strings.Contains(res.Body, "<script>") {
				t.Errorf("%s: %d %.200s", path, res.StatusCode, res.Body)
			}
		}
	}
	// The search still works for what it should match.
	if res := admin.get("/connections?q=contoso"); !strings.Contains(res.Body, b.A.ConnectionName) {
		t.Error("a plain search no longer finds the demo connection")
	}
	// The sign-in form: an injected email is just a wrong email.
	for _, p := range []string{`' OR 1=1 --`, `admin@demo.test' --`, xss} {
		res := b.client(t).post("/login", url.Values{"email": {p}, "password": {"x"}})
		if res.StatusCode == http.StatusSeeOther || res.StatusCode >= 500 || strings.Contains(res.Body, "<script>alert") {
			t.Errorf("login with email %q: %d", p, res.StatusCode)
		}
	}
}

// Claim: malformed input is a 400 before any SQL runs — a NUL byte, text
// that is not UTF-8, a forged cursor — and a huge parameter is not copied
// into the log.
func TestMalformedInputIs400AndStaysOutOfTheLog(t *testing.T) {
	b := start(t)
	admin := b.signInA(t)
	forged := func(v, id string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(`{"v":"` + v + `","id":"` + id + `"}`))
	}
	huge := strings.Repeat("Z", 100_000)
	probes := []string{
		"/connections?q=a%00b", "/connections?q=%ff%fe",
		"/connections?cursor=" + forged("not-a-time", "7b0e7f0e-8a55-4e4b-9a34-0d4c2a8d1f00"),
		"/connections?cursor=" + forged("2026-01-01T00:00:00Z", "not-a-uuid"),
		"/connections?sort=name&cursor=" + forged("a\\u0000b", "7b0e7f0e-8a55-4e4b-9a34-0d4c2a8d1f00"),
		"/connections?cursor=" + huge, "/connections?q=" + huge + "%00",
		"/audit?actor=a%00b", "/audit?cursor=" + forged("x", "y"), "/audit?cursor=" + huge,
	}
	for _, p := range probes {
		res := admin.get(p)
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("%.80s: %d, want 400", p, res.StatusCode)
		}
	}
	for _, line := range strings.Split(b.Logs.String(), "\n") {
		if len(line) > 8<<10 || strings.Contains(line, huge[:2000]) {
			t.Fatalf("a log line of %d bytes carries the input", len(line))
		}
	}
}
