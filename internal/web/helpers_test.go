package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/auth"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
	"github.com/brokerhq/broker/internal/web"
)

const (
	publicURL  = "https://broker.example.com"
	sessionKey = "s1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	otherKey   = "s2:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="
	password   = "hunter2-but-longer"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer collects log output from handler goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

type testServer struct {
	t      *testing.T
	url    string
	store  *store.Store
	srv    *web.Server
	clock  *clock
	logs   *syncBuffer
	tenant store.Tenant
	deps   web.Deps
}

// newTestServer builds the whole router on its own database; opts adjust
// the Deps before it is built.
func newTestServer(t *testing.T, opts ...func(*web.Deps)) *testServer {
	t.Helper()
	ts := &testServer{t: t, url: testdb.New(t), clock: &clock{t: time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)}, logs: &syncBuffer{}}
	ts.store = testdb.OpenStore(t, ts.url, store.Options{})
	var err error
	if ts.tenant, err = ts.store.CreateTenant(context.Background(), "acme", "Acme Corp"); err != nil {
		t.Fatal(err)
	}
	ts.deps = web.Deps{
		Store: ts.store, Logger: slog.New(slog.NewJSONHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		PublicURL: publicURL, SessionKeys: sessionKey, Now: ts.clock.Now, Passwords: auth.CheapParams,
	}
	for _, o := range opts {
		o(&ts.deps)
	}
	if ts.srv, err = web.New(ts.deps); err != nil {
		t.Fatal(err)
	}
	return ts
}

func (ts *testServer) createUser(email, role string) store.User {
	ts.t.Helper()
	h, err := auth.CheapParams.Hash(password)
	if err != nil {
		ts.t.Fatal(err)
	}
	u, err := ts.store.CreateUser(context.Background(), ts.tenant.ID, email, h, role, nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	return u
}

// countSessions reads the table directly as the owner, around RLS.
func (ts *testServer) countSessions() int {
	ts.t.Helper()
	c, err := pgx.Connect(context.Background(), ts.url)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer c.Close(context.Background())
	var n int
	if err := c.QueryRow(context.Background(), "SELECT count(*) FROM sessions").Scan(&n); err != nil {
		ts.t.Fatal(err)
	}
	return n
}

// browser keeps cookies like a browser on publicURL would and sends what a
// same-origin page sends (Sec-Fetch-Site) unless a request says otherwise.
type browser struct {
	ts      *testServer
	cookies map[string]*http.Cookie
	addr    string
}

func (ts *testServer) browser() *browser {
	return &browser{ts: ts, cookies: map[string]*http.Cookie{}, addr: "192.0.2.10"}
}

type response struct {
	*http.Response
	body string
}

func (b *browser) do(req *http.Request) response {
	b.ts.t.Helper()
	if req.RemoteAddr == "192.0.2.1:1234" { // httptest's default
		req.RemoteAddr = b.addr + ":50000"
	}
	if req.Method != http.MethodGet && req.Header.Get("Sec-Fetch-Site") == "" && req.Header.Get("X-No-Default") == "" {
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	b.ts.srv.ServeHTTP(rec, req)
	res := rec.Result()
	res.Request = req
	body, _ := io.ReadAll(res.Body)
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return response{res, string(body)}
}

func (b *browser) get(path string) response {
	return b.do(httptest.NewRequest(http.MethodGet, publicURL+path, nil))
}

func (b *browser) post(path string, form url.Values) response {
	req := httptest.NewRequest(http.MethodPost, publicURL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) login(email, pw string) response {
	return b.post("/login", url.Values{"email": {email}, "password": {pw}})
}

// mustSignIn signs in and fails the test unless it worked.
func (b *browser) mustSignIn(email string) {
	b.ts.t.Helper()
	if res := b.login(email, password); res.StatusCode != http.StatusSeeOther {
		b.ts.t.Fatalf("sign in: status %d, body %s", res.StatusCode, res.body)
	}
}

func wantStatus(t *testing.T, res response, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body:\n%s", res.Request.Method, res.Request.URL.Path, res.StatusCode, want, res.body)
	}
}

func wantRedirect(t *testing.T, res response, want string) {
	t.Helper()
	wantStatus(t, res, http.StatusSeeOther)
	if got := res.Header.Get("Location"); got != want {
		t.Fatalf("%s %s: Location %q, want %q", res.Request.Method, res.Request.URL.Path, got, want)
	}
}

func newPost(target, body string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func (r response) header(name string) string { return r.Header.Get(name) }
