package web_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
)

func TestHealth(t *testing.T) {
	var readyErr error
	ts := newTestServer(t, func(d *web.Deps) {
		d.Ready = func(context.Context) error { return readyErr }
	})
	b := ts.browser()
	if res := b.get("/healthz"); res.StatusCode != 200 || res.body != "ok\n" {
		t.Fatalf("/healthz = %d %q", res.StatusCode, res.body)
	}
	if res := b.get("/readyz"); res.StatusCode != 200 || res.body != "ok\n" {
		t.Fatalf("/readyz = %d %q", res.StatusCode, res.body)
	}

	readyErr = errors.New("schema 3 < 4 at postgres://broker:s3cret@db/broker")
	res := b.get("/readyz")
	if res.StatusCode != 503 || res.body != "not ready\n" {
		t.Fatalf("failing check: /readyz = %d %q; want 503 with no detail", res.StatusCode, res.body)
	}
	readyErr = web.Errorf(503, "schema is at version 3, this binary needs 4", nil)
	if res := b.get("/readyz"); res.StatusCode != 503 || !strings.Contains(res.body, "version 3") {
		t.Fatalf("safe reason not shown: %d %q", res.StatusCode, res.body)
	}

	readyErr = nil
	ts.store.Close() // the database goes away; the process is still up
	if res := b.get("/readyz"); res.StatusCode != 503 || res.body != "not ready: database does not answer\n" {
		t.Fatalf("database down: /readyz = %d %q", res.StatusCode, res.body)
	}
	if res := b.get("/healthz"); res.StatusCode != 200 {
		t.Fatalf("database down: /healthz = %d", res.StatusCode)
	}
}

func TestMetrics(t *testing.T) {
	ts := newTestServer(t)
	b := ts.browser()
	b.get("/login")
	b.get("/no/such/page")
	rec := httptest.NewRecorder()
	ts.srv.Metrics().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`broker_http_requests_total{method="GET",route="/login",status="2xx"} 1`,
		`broker_http_requests_total{method="GET",route="unmatched",status="4xx"} 1`,
		`broker_http_request_duration_seconds_bucket{method="GET",route="/login",status="2xx",le="+Inf"} 1`,
		`broker_db_pool_total_conns`,
		`broker_db_pool_acquires_total`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestStaticCaching(t *testing.T) {
	ts := newTestServer(t)
	b := ts.browser()
	page := b.get("/login").body
	i := strings.Index(page, "/static/app.css?v=")
	if i < 0 {
		t.Fatal("layout does not link a versioned app.css")
	}
	link := page[i : i+strings.IndexByte(page[i:], '"')]
	res := b.get(link)
	wantStatus(t, res, http.StatusOK)
	if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
		t.Errorf("versioned asset Cache-Control = %q", cc)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("Content-Type = %q", ct)
	}
	if cc := b.get("/static/app.css").Header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("unversioned asset Cache-Control = %q", cc)
	}
	req := httptest.NewRequest(http.MethodGet, publicURL+link, nil)
	req.Header.Set("If-None-Match", res.Header.Get("ETag"))
	wantStatus(t, b.do(req), http.StatusNotModified)
	wantStatus(t, b.get("/static/"), http.StatusNotFound)
	wantStatus(t, b.get("/static/../web.go"), http.StatusNotFound)
}

func TestErrorPages(t *testing.T) {
	ts := newTestServer(t, func(d *web.Deps) {
		d.Mount = append(d.Mount, func(r chi.Router, ui *web.UI) {
			r.Get("/boom", func(http.ResponseWriter, *http.Request) { panic("db password is s3cret") })
			r.Get("/fail", func(w http.ResponseWriter, r *http.Request) {
				ui.Fail(w, r, errors.New("pq: connection to 10.0.0.5 refused"))
			})
			r.Get("/forbidden", func(w http.ResponseWriter, r *http.Request) {
				ui.Fail(w, r, web.Errorf(http.StatusForbidden, "Only administrators can do that.", nil))
			})
		})
	})
	b := ts.browser()
	res := b.get("/no/such/page")
	wantStatus(t, res, http.StatusNotFound)
	if !strings.Contains(res.body, "Page not found") || !strings.Contains(res.header("Content-Type"), "text/html") {
		t.Errorf("404 is not the friendly page: %s", res.body)
	}
	res = b.get("/api/v1/nothing")
	if res.StatusCode != 404 || !strings.HasPrefix(res.header("Content-Type"), "application/json") || !strings.Contains(res.body, `"status":404`) {
		t.Errorf("API 404 = %d %s %s", res.StatusCode, res.header("Content-Type"), res.body)
	}
	for path, leak := range map[string]string{"/boom": "s3cret", "/fail": "10.0.0.5"} {
		res := b.get(path)
		wantStatus(t, res, http.StatusInternalServerError)
		if strings.Contains(res.body, leak) {
			t.Errorf("%s: the page shows the internal error", path)
		}
		if id := res.header("X-Request-ID"); !strings.Contains(res.body, id) {
			t.Errorf("%s: the page does not show the reference %s", path, id)
		}
		if !strings.Contains(ts.logs.String(), leak) {
			t.Errorf("%s: the internal error was not logged", path)
		}
	}
	res = b.get("/forbidden")
	wantStatus(t, res, http.StatusForbidden)
	if !strings.Contains(res.body, "Only administrators can do that.") {
		t.Error("the safe message is not shown")
	}
}

func TestDemoBanner(t *testing.T) {
	ts := newTestServer(t, func(d *web.Deps) { d.Demo = true })
	ts.createUser("ann@acme.example", store.RoleAdmin)
	b := ts.browser()
	for _, path := range []string{"/login", "/no/such/page"} {
		if !strings.Contains(b.get(path).body, "not for production") {
			t.Errorf("%s has no demo banner", path)
		}
	}
	b.mustSignIn("ann@acme.example")
	if !strings.Contains(b.get("/").body, "not for production") {
		t.Error("home has no demo banner")
	}
	plain := newTestServer(t).browser()
	if strings.Contains(plain.get("/login").body, "not for production") {
		t.Error("banner shown without Demo")
	}
}

func TestMissingTemplateFailsStartUp(t *testing.T) {
	ts := newTestServer(t)
	d := ts.deps
	d.Registry = nil
	d.Mount = []func(chi.Router, *web.UI){func(r chi.Router, ui *web.UI) { ui.Need("home.html", "nope.html") }}
	if _, err := web.New(d); err == nil || !strings.Contains(err.Error(), "nope.html") {
		t.Fatalf("New = %v; want an error naming nope.html", err)
	}
}

// Every signed-in page carries the viewer's sections; anonymous pages none.
func TestNavigationByRole(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser("ann@acme.example", store.RoleAdmin)
	ts.createUser("bob@acme.example", store.RoleMember)
	if body := ts.browser().get("/login").body; strings.Contains(body, `class="mainnav"`) {
		t.Error("navigation shown before sign-in")
	}
	cases := map[string]struct{ want, not []string }{
		"ann@acme.example": {want: []string{`href="/connections"`, `href="/connections/new"`, `href="/audit"`, `href="/api-keys"`}},
		"bob@acme.example": {want: []string{`href="/connections"`, `href="/connections/new"`}, not: []string{`href="/audit"`, `href="/api-keys"`}},
	}
	for email, c := range cases {
		b := ts.browser()
		b.mustSignIn(email)
		body := b.get("/").body
		start := strings.Index(body, `class="mainnav"`)
		if start < 0 {
			t.Fatalf("%s: no navigation", email)
		}
		body = body[start : start+strings.Index(body[start:], "</nav>")]
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: navigation lacks %s", email, w)
			}
		}
		for _, n := range c.not {
			if strings.Contains(body, n) {
				t.Errorf("%s: navigation offers %s", email, n)
			}
		}
	}
}
