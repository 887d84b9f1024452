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

func TestSessionKeyRotation(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser("ann@acme.example", store.RoleMember)
	b := ts.browser()
	b.mustSignIn("ann@acme.example")

	// A server with a new primary key still opens cookies of the old one…
	rotated := newTestServerOn(t, ts, otherKey+","+sessionKey)
	b.ts = rotated
	wantStatus(t, b.get("/"), http.StatusOK)
	// …and once the old key is dropped they are refused.
	b.ts = newTestServerOn(t, ts, otherKey)
	wantRedirect(t, b.get("/"), "/login")
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
