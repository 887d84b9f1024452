package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/auth"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
)

func TestLoginAndLogout(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser("ann@acme.example", store.RoleAdmin)
	b := ts.browser()

	res := b.get("/")
	wantRedirect(t, res, "/login")
	res = b.get("/login")
	wantStatus(t, res, http.StatusOK)
	for _, want := range []string{`name="email"`, `name="password"`, `type="password"`, `action="/login"`} {
		if !strings.Contains(res.body, want) {
			t.Errorf("login page lacks %s", want)
		}
	}

	res = b.login("ANN@acme.example", password)
	wantRedirect(t, res, "/")
	c := b.cookies["__Host-broker_session"]
	if c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
		t.Fatalf("session cookie = %+v; want __Host- Secure HttpOnly Lax Path=/", c)
	}
	stolen := *c

	res = b.get("/")
	wantStatus(t, res, http.StatusOK)
	for _, want := range []string{"Acme Corp", "ann@acme.example", `href="/connections"`, `href="/connections/new"`, `action="/logout"`} {
		if !strings.Contains(res.body, want) {
			t.Errorf("home page lacks %s", want)
		}
	}

	res = b.post("/logout", nil)
	wantRedirect(t, res, "/login")
	if _, ok := b.cookies["__Host-broker_session"]; ok {
		t.Fatal("logout did not clear the cookie")
	}
	if n := ts.countSessions(); n != 0 {
		t.Fatalf("%d session rows after logout, want 0", n)
	}
	// The flash says so once.
	if res := b.get("/login"); !strings.Contains(res.body, "You have signed out.") {
		t.Error("no sign-out flash after logout")
	}
	if res := b.get("/login"); strings.Contains(res.body, "You have signed out.") {
		t.Error("the flash showed twice")
	}

	// A copy of the old cookie is dead server-side.
	thief := ts.browser()
	thief.cookies[stolen.Name] = &stolen
	wantRedirect(t, thief.get("/"), "/login")

	events, err := ts.store.ListAudit(context.Background(), ts.tenant.ID, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, ","); got != "user.signed_out,user.signed_in" {
		t.Errorf("audit = %s", got)
	}
	if strings.Contains(ts.logs.String(), password) || strings.Contains(ts.logs.String(), stolen.Value) {
		t.Error("a log line holds the password or the cookie")
	}
}

func TestLoginFailures(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser("ann@acme.example", store.RoleMember)
	b := ts.browser()

	for _, tc := range []struct {
		name, email, pw string
		status          int
		want            string
	}{
		{"wrong password", "ann@acme.example", "nope-" + password, http.StatusUnauthorized, "Email or password is wrong."},
		{"unknown email", "nobody@acme.example", password, http.StatusUnauthorized, "Email or password is wrong."},
		{"no email", "", password, http.StatusUnprocessableEntity, "Enter your email address."},
		{"no password", "ann@acme.example", "", http.StatusUnprocessableEntity, "Enter your password."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := b.login(tc.email, tc.pw)
			wantStatus(t, res, tc.status)
			if !strings.Contains(res.body, tc.want) {
				t.Errorf("body lacks %q", tc.want)
			}
			if tc.email != "" && !strings.Contains(res.body, `value="`+tc.email+`"`) {
				t.Error("the email was not kept")
			}
			if tc.pw != "" && strings.Contains(res.body, tc.pw) {
				t.Error("the password was echoed")
			}
		})
	}
	if len(b.cookies) != 0 || ts.countSessions() != 0 {
		t.Fatal("a failed sign-in left a session")
	}
	events, _ := ts.store.ListAudit(context.Background(), ts.tenant.ID, store.AuditFilter{Action: "user.sign_in_failed"})
	if len(events) != 1 || events[0].ActorLabel != "ann@acme.example" {
		t.Fatalf("sign-in failures audited in tenant: %+v", events)
	}
	if strings.Contains(ts.logs.String(), password) {
		t.Error("a log line holds the password")
	}
}

func TestLoginNext(t *testing.T) {
	ts := newTestServer(t, func(d *web.Deps) {
		d.Mount = append(d.Mount, func(r chi.Router, ui *web.UI) {
			r.Use(web.RequireSignIn)
			r.Get("/area", func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte("area for " + web.Viewer(r.Context()).Email))
			})
		})
	})
	ts.createUser("ann@acme.example", store.RoleMember)
	b := ts.browser()

	res := b.get("/area?tab=2")
	wantRedirect(t, res, "/login?next=%2Farea%3Ftab%3D2")
	if res := b.get("/login?next=%2Farea%3Ftab%3D2"); !strings.Contains(res.body, `name="next" value="/area?tab=2"`) {
		t.Fatalf("the form does not carry next: %s", res.body)
	}
	res = b.post("/login", url.Values{"email": {"ann@acme.example"}, "password": {password}, "next": {"/area?tab=2"}})
	wantRedirect(t, res, "/area?tab=2")
	if res := b.get("/area"); res.body != "area for ann@acme.example" {
		t.Fatalf("area said %q", res.body)
	}
	// Signed in, /login moves on; an off-site next goes home instead.
	wantRedirect(t, b.get("/login?next=//evil.example/x"), "/")
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "/",
		"/":                     "/",
		"/connections?id=3#top": "/connections?id=3#top",
		"//evil.example":        "/",
		"/\\evil.example":       "/",
		"https://evil.example/": "/",
		"javascript:alert(1)":   "/",
		"/ok\r\nSet-Cookie: x":  "/",
		"/\t/evil.example":      "/",
		"/login":                "/",
		"/logout?x":             "/",
		"connections":           "/",
	} {
		if got := web.SafeNext(in); got != want {
			t.Errorf("SafeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoginRateLimit(t *testing.T) {
	t.Run("per account and address", func(t *testing.T) {
		ts := newTestServer(t)
		ts.createUser("ann@acme.example", store.RoleMember)
		stranger := ts.browser()
		stranger.addr = "198.51.100.9"
		for range 5 {
			wantStatus(t, stranger.login("ann@acme.example", "wrong"), http.StatusUnauthorized)
		}
		// The stranger is stopped, even with the right password…
		res := stranger.login("Ann@Acme.example", password)
		wantStatus(t, res, http.StatusTooManyRequests)
		if !strings.Contains(res.body, "Too many failed sign-in attempts") || res.Header.Get("Retry-After") != "900" {
			t.Fatalf("429 without a clear message or Retry-After (%q)", res.Header.Get("Retry-After"))
		}
		// …but the owner, elsewhere, is not locked out.
		ts.browser().mustSignIn("ann@acme.example")
		ts.clock.Advance(15 * time.Minute)
		stranger.mustSignIn("ann@acme.example")
	})
	t.Run("per account, from many addresses", func(t *testing.T) {
		ts := newTestServer(t)
		ts.createUser("ann@acme.example", store.RoleMember)
		owner := ts.browser()
		owner.mustSignIn("ann@acme.example") // the owner's usual address
		allowed := 0
		for a := range 25 {
			b := ts.browser()
			b.addr = "198.51.100." + strconv.Itoa(a+1)
			for range 5 {
				if b.login("ann@acme.example", "wrong").StatusCode == http.StatusUnauthorized {
					allowed++
				}
			}
		}
		if allowed != 100 {
			t.Fatalf("%d guesses from 25 addresses answered, want the account-wide cap of 100", allowed)
		}
		newcomer := ts.browser()
		newcomer.addr = "203.0.113.77"
		wantStatus(t, newcomer.login("ann@acme.example", password), http.StatusTooManyRequests)
		owner.cookies = map[string]*http.Cookie{}
		owner.mustSignIn("ann@acme.example")
	})
	t.Run("per address", func(t *testing.T) {
		ts := newTestServer(t)
		ts.createUser("ann@acme.example", store.RoleMember)
		b := ts.browser()
		for i := range 20 {
			wantStatus(t, b.login("guess"+string(rune('a'+i))+"@acme.example", "wrong"), http.StatusUnauthorized)
		}
		wantStatus(t, b.login("ann@acme.example", password), http.StatusTooManyRequests)
		elsewhere := ts.browser()
		elsewhere.addr = "203.0.113.5"
		elsewhere.mustSignIn("ann@acme.example")
	})
}

func TestOperatorLogin(t *testing.T) {
	ts := newTestServer(t)
	h, _ := auth.CheapParams.Hash(password)
	if _, err := ts.store.CreateOperator(context.Background(), "ops@broker.example", h); err != nil {
		t.Fatal(err)
	}
	b := ts.browser()
	b.mustSignIn("ops@broker.example")
	res := b.get("/")
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(res.body, "Platform operator") {
		t.Error("home does not say operator")
	}
}
