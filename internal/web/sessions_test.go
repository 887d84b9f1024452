package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
)

func TestTamperedCookieRejected(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser("ann@acme.example", store.RoleMember)
	b := ts.browser()
	b.mustSignIn("ann@acme.example")
	c := b.cookies["__Host-broker_session"]
	flip := func(s string, i int) string {
		r := []byte(s)
		if r[i] == 'A' {
			r[i] = 'B'
		} else {
			r[i] = 'A'
		}
		return string(r)
	}
	for name, value := range map[string]string{
		"flipped early": flip(c.Value, 5),
		"flipped late":  flip(c.Value, len(c.Value)-3),
		"truncated":     c.Value[:len(c.Value)/2],
		"garbage":       "not-a-cookie",
	} {
		t.Run(name, func(t *testing.T) {
			m := ts.browser()
			m.cookies[c.Name] = &http.Cookie{Name: c.Name, Value: value}
			res := m.get("/")
			wantRedirect(t, res, "/login")
			if _, kept := m.cookies[c.Name]; kept {
				t.Error("a bad cookie was not cleared")
			}
		})
	}
	// The genuine one still works.
	wantStatus(t, b.get("/"), http.StatusOK)
}

// Session keys roll like encryption keys (README): a new key is added last
// everywhere, then made first, and the old one dropped after the absolute
// session timeout. Sessions survive every step on every replica.
func TestSessionKeyRotation(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser("ann@acme.example", store.RoleMember)
	b := ts.browser()
	b.mustSignIn("ann@acme.example") // signed under s1

	// 1. s2 added last: it signs nothing yet, the s1 cookie opens.
	b.ts = newTestServerOn(t, ts, sessionKey+","+otherKey)
	wantStatus(t, b.get("/"), http.StatusOK)
	// 2. s2 first: new sign-ins are signed under s2; replicas still at step
	// 1 open them, and s1 cookies still open here.
	rotated := newTestServerOn(t, ts, otherKey+","+sessionKey)
	b.ts = rotated
	wantStatus(t, b.get("/"), http.StatusOK)
	fresh := rotated.browser()
	fresh.mustSignIn("ann@acme.example")
	if v := fresh.cookies["__Host-broker_session"].Value; !strings.HasPrefix(v, "s2.") {
		t.Fatalf("a new cookie does not name its key: %.3s…", v)
	}
	fresh.ts = newTestServerOn(t, ts, sessionKey+","+otherKey)
	wantStatus(t, fresh.get("/"), http.StatusOK)
	// 3. s1 dropped: s2 cookies open.
	fresh.ts = newTestServerOn(t, ts, otherKey)
	wantStatus(t, fresh.get("/"), http.StatusOK)
}

// A replica that meets a cookie signed under a key it lacks (a new key made
// first on one replica before the others hold it) answers 503 with
// Retry-After and keeps the cookie, logging the key ID once; it does not
// sign the user out.
func TestUnknownSessionKeyIs503(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser("ann@acme.example", store.RoleMember)
	ahead := newTestServerOn(t, ts, otherKey+","+sessionKey)
	b := ahead.browser()
	b.mustSignIn("ann@acme.example") // signed under s2
	b.ts = ts                        // s1 only
	for range 2 {
		res := b.get("/")
		wantStatus(t, res, http.StatusServiceUnavailable)
		if res.header("Retry-After") == "" {
			t.Fatal("503 without Retry-After")
		}
		if _, kept := b.cookies["__Host-broker_session"]; !kept {
			t.Fatal("the cookie was cleared: a sign-out")
		}
	}
	if n := strings.Count(ts.logs.String(), `"key_id":"s2"`); n != 1 {
		t.Fatalf("the missing key was logged %d times, want once", n)
	}
	b.ts = ahead
	wantStatus(t, b.get("/"), http.StatusOK)
}

// newTestServerOn builds a second router over ts's database with other keys.
func newTestServerOn(t *testing.T, ts *testServer, keys string) *testServer {
	t.Helper()
	d := ts.deps
	d.SessionKeys, d.Registry = keys, nil
	srv, err := web.New(d)
	if err != nil {
		t.Fatal(err)
	}
	cp := *ts
	cp.srv = srv
	return &cp
}

func TestIdleTimeout(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser("ann@acme.example", store.RoleMember)
	b := ts.browser()
	b.mustSignIn("ann@acme.example")

	// Activity every 20 minutes keeps the session alive…
	for range 3 {
		ts.clock.Advance(20 * time.Minute)
		wantStatus(t, b.get("/"), http.StatusOK)
	}
	// …31 idle minutes end it, and the row goes too.
	ts.clock.Advance(31 * time.Minute)
	wantRedirect(t, b.get("/"), "/login")
	if n := ts.countSessions(); n != 0 {
		t.Fatalf("%d session rows after idle timeout, want 0", n)
	}
}

func TestAbsoluteTimeout(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser("ann@acme.example", store.RoleMember)
	b := ts.browser()
	b.mustSignIn("ann@acme.example")
	for elapsed := time.Duration(0); elapsed < 12*time.Hour-20*time.Minute; elapsed += 20 * time.Minute {
		ts.clock.Advance(20 * time.Minute)
		wantStatus(t, b.get("/"), http.StatusOK)
	}
	ts.clock.Advance(20 * time.Minute) // 12h after sign-in, however active
	wantRedirect(t, b.get("/"), "/login")
}

func TestNewSessionOnLogin(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser("ann@acme.example", store.RoleMember)
	b := ts.browser()
	b.mustSignIn("ann@acme.example")
	first := *b.cookies["__Host-broker_session"]
	b.mustSignIn("ann@acme.example")
	if b.cookies["__Host-broker_session"].Value == first.Value {
		t.Fatal("signing in again kept the session cookie")
	}
	if n := ts.countSessions(); n != 1 {
		t.Fatalf("%d sessions after signing in twice, want 1 (the old one ended)", n)
	}
	old := ts.browser()
	old.cookies[first.Name] = &first
	wantRedirect(t, old.get("/"), "/login")
}

func TestReauthenticated(t *testing.T) {
	ts := newTestServer(t, func(d *web.Deps) {
		d.Mount = append(d.Mount, func(r chi.Router, ui *web.UI) {
			r.With(web.RequireSignIn).Get("/fresh", func(w http.ResponseWriter, r *http.Request) {
				if ui.Sessions().Reauthenticated(web.Viewer(r.Context()).Session) {
					w.Write([]byte("fresh"))
				} else {
					w.Write([]byte("stale"))
				}
			})
		})
	})
	ts.createUser("ann@acme.example", store.RoleMember)
	b := ts.browser()
	b.mustSignIn("ann@acme.example")
	if res := b.get("/fresh"); res.body != "fresh" {
		t.Fatalf("right after sign-in: %q", res.body)
	}
	ts.clock.Advance(16 * time.Minute)
	if res := b.get("/fresh"); res.body != "stale" {
		t.Fatalf("16 minutes after sign-in: %q", res.body)
	}
}

func TestLocalhostCookie(t *testing.T) {
	ts := newTestServer(t, func(d *web.Deps) { d.PublicURL = "http://localhost:8080" })
	ts.createUser("ann@acme.example", store.RoleMember)
	b := ts.browser()
	res := b.do(newPost("http://localhost:8080/login", "email=ann%40acme.example&password="+password))
	wantStatus(t, res, http.StatusSeeOther)
	c := b.cookies["broker_session"]
	if c == nil || c.Secure || !c.HttpOnly {
		t.Fatalf("localhost cookie = %+v; want broker_session, not Secure, HttpOnly", c)
	}
	for _, bad := range []string{"http://broker.example.com", "ftp://x", "/relative", ""} {
		d := ts.deps
		d.PublicURL, d.Registry = bad, nil
		if _, err := web.New(d); err == nil {
			t.Errorf("public URL %q accepted", bad)
		}
	}
	for _, bad := range []string{"", "s1:short", "s1", sessionKey + "," + sessionKey} {
		d := ts.deps
		d.SessionKeys, d.Registry = bad, nil
		_, err := web.New(d)
		if err == nil {
			t.Errorf("session keys %q accepted", bad)
		} else if strings.Contains(err.Error(), "MDEy") {
			t.Errorf("error shows key material: %v", err)
		}
	}
}
