package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
)

// withAPI mounts a POST under /api/ that answers 200, for checking the API
// area is outside the cookie and cross-origin machinery.
func withAPI(d *web.Deps) {
	d.MountAPI = append(d.MountAPI, func(r chi.Router, ui *web.UI) {
		r.Post("/v1/echo", func(w http.ResponseWriter, r *http.Request) {
			if web.Viewer(r.Context()) != nil {
				http.Error(w, "API saw a browser session", http.StatusInternalServerError)
				return
			}
			w.Write([]byte("api ok"))
		})
	})
}

func TestSecurityHeadersEverywhere(t *testing.T) {
	ts := newTestServer(t, withAPI)
	ts.createUser("ann@acme.example", store.RoleMember)
	b := ts.browser()
	b.mustSignIn("ann@acme.example")
	wantCSP := "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
	for _, path := range []string{"/", "/login", "/healthz", "/readyz", "/static/app.css", "/no/such/page"} {
		res := b.get(path)
		for h, want := range map[string]string{
			"Content-Security-Policy":   wantCSP,
			"Referrer-Policy":           "same-origin",
			"X-Content-Type-Options":    "nosniff",
			"X-Frame-Options":           "DENY",
			"Strict-Transport-Security": "max-age=31536000",
		} {
			if got := res.Header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", path, h, got, want)
			}
		}
		if res.Header.Get("X-Request-ID") == "" {
			t.Errorf("%s: no X-Request-ID", path)
		}
		// Scripts come from static files only (copy.js on every page).
		for _, tag := range scriptTag.FindAllString(res.body, -1) {
			if !strings.Contains(tag, ` src="/static/`) {
				t.Errorf("%s: inline script in the page: %s", path, tag)
			}
		}
		if strings.Contains(res.body, "style=") {
			t.Errorf("%s: inline style in the page", path)
		}
	}
}

var scriptTag = regexp.MustCompile(`<script[^>]*>`)

// The API area answers programs: the headers of a machine answer, never
// cached, never framed, never sniffed into a page.
func TestSecurityHeadersOnTheAPI(t *testing.T) {
	ts := newTestServer(t, withAPI)
	b := ts.browser()
	for _, res := range []response{b.get("/api/v1/nothing"), b.post("/api/v1/echo", nil)} {
		for h, want := range map[string]string{
			"Content-Security-Policy":   "default-src 'none'; frame-ancestors 'none'",
			"Referrer-Policy":           "no-referrer",
			"X-Content-Type-Options":    "nosniff",
			"X-Frame-Options":           "DENY",
			"Cache-Control":             "no-store",
			"Strict-Transport-Security": "max-age=31536000",
		} {
			if got := res.Header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", res.Request.URL.Path, h, got, want)
			}
		}
	}
}

func TestCrossOriginRefused(t *testing.T) {
	ts := newTestServer(t, withAPI)
	ts.createUser("ann@acme.example", store.RoleMember)
	b := ts.browser()
	b.mustSignIn("ann@acme.example")

	for _, tc := range []struct {
		name, fetchSite, origin string
		want                    int
	}{
		{"cross-site fetch metadata", "cross-site", "", http.StatusForbidden},
		{"same-site is not same-origin", "same-site", "", http.StatusForbidden},
		{"origin mismatch, old browser", "", "https://evil.example", http.StatusForbidden},
		{"same origin", "same-origin", "", http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := newPost(publicURL+"/logout", "")
			if tc.fetchSite != "" {
				req.Header.Set("Sec-Fetch-Site", tc.fetchSite)
			} else {
				req.Header.Set("X-No-Default", "1") // an old browser sends no Sec-Fetch-Site
			}
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			res := b.do(req)
			wantStatus(t, res, tc.want)
			if tc.want == http.StatusForbidden {
				if !strings.Contains(res.body, "sent from another site") {
					t.Error("403 page without an explanation")
				}
				if ts.countSessions() != 1 {
					t.Fatal("a refused cross-origin logout still ended the session")
				}
			}
		})
	}

	t.Run("cross-site sign-in", func(t *testing.T) {
		req := newPost(publicURL+"/login", url.Values{"email": {"ann@acme.example"}, "password": {password}}.Encode())
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		wantStatus(t, ts.browser().do(req), http.StatusForbidden)
	})
	t.Run("trusted public origin behind a proxy", func(t *testing.T) {
		req := newPost("http://10.0.0.7:8080/login", url.Values{"email": {"ann@acme.example"}, "password": {password}}.Encode())
		req.Header.Set("Origin", publicURL)
		req.Header.Set("X-No-Default", "1")
		wantStatus(t, ts.browser().do(req), http.StatusSeeOther)
	})
	t.Run("api area is exempt and cookie-free", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, publicURL+"/api/v1/echo", nil)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		res := b.do(req) // b carries the session cookie
		wantStatus(t, res, http.StatusOK)
	})
}

func TestNoStateChangeOnGet(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser("ann@acme.example", store.RoleMember)
	b := ts.browser()
	b.mustSignIn("ann@acme.example")
	wantStatus(t, b.get("/logout"), http.StatusMethodNotAllowed)
	wantStatus(t, b.get("/login?email=ann%40acme.example&password="+password), http.StatusSeeOther) // signed in: just moves on
	anon := ts.browser()
	wantStatus(t, anon.get("/login?email=ann%40acme.example&password="+password), http.StatusOK)
	if len(anon.cookies) != 0 {
		t.Error("GET /login with credentials in the query set a cookie")
	}
	if n := ts.countSessions(); n != 1 {
		t.Fatalf("%d sessions; GETs must not create or end any", n)
	}
	wantStatus(t, b.get("/"), http.StatusOK)
	if strings.Contains(ts.logs.String(), password) {
		t.Error("the query string reached the logs")
	}
}

func TestRequestID(t *testing.T) {
	ts := newTestServer(t)
	b := ts.browser()
	req := httptest.NewRequest(http.MethodGet, publicURL+"/login", nil)
	req.Header.Set("X-Request-ID", "proxy-abc.123")
	if got := b.do(req).Header.Get("X-Request-ID"); got != "proxy-abc.123" {
		t.Errorf("a plain incoming ID was replaced: %q", got)
	}
	req = httptest.NewRequest(http.MethodGet, publicURL+"/login", nil)
	req.Header.Set("X-Request-ID", "evil\"} injected")
	if got := b.do(req).Header.Get("X-Request-ID"); got == "" || strings.Contains(got, "evil") {
		t.Errorf("a hostile incoming ID was kept: %q", got)
	}
	logs := ts.logs.String()
	if !strings.Contains(logs, `"request_id":"proxy-abc.123"`) || !strings.Contains(logs, `"route":"/login"`) {
		t.Errorf("access log lacks request ID or route:\n%s", logs)
	}
}
