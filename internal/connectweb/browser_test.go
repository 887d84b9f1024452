package connectweb_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brokerhq/broker/internal/browsertest"
	"github.com/brokerhq/broker/internal/store"
)

// TestBrowserConnectLinks drives connect links in real Chromium under the
// broker's real CSP, through the simulated Microsoft on other origins, as a
// product's end user with no broker login: a new connection with Sign in
// with Microsoft that returns to the product, a reconnect of that
// connection once broken (same ID, Active again), a client credentials
// session, an expired link, a link opened from a second browser, and a
// return_url outside the tenant's origins refused at creation.
func TestBrowserConnectLinks(t *testing.T) {
	s := newServer(t)
	b := browsertest.New(t, browsertest.Options{Timeout: 5 * time.Minute})
	ctx := context.Background()
	var connID string

	t.Run("Sign in with Microsoft and back to the product", func(t *testing.T) {
		cs := s.create(t, nil)
		b.Do("open the link", chromedp.Navigate(cs.ConnectURL), chromedp.WaitVisible(chromedp.CSS("#submit")))
		if got := b.Text(".connect-name"); got != "Northwind CRM" {
			t.Fatalf("brand %q", got)
		}
		if browsertest.Eval[bool](b, `!!document.querySelector('nav, .topbar, .mainnav, .signout')`) {
			t.Fatal("the connect page shows broker navigation")
		}
		if csp := s.pageCSP(t, cs.ConnectURL); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Fatalf("CSP %q", csp)
		}
		b.Do("Sign in with Microsoft", chromedp.Click(chromedp.CSS("#submit")))
		s.atMicrosoft(t, b, s.Demo.Adele.UPN)
		back := s.waitReturn(t, b, 1)
		if back.Get("connect_session_id") != cs.ID || back.Get("status") != "completed" || back.Get("connection_id") == "" ||
			back.Get("tab") != "mail" {
			t.Fatalf("returned with %v", back)
		}
		connID = back.Get("connection_id")
		c, err := s.Store.Connection(ctx, s.Tenant.ID, connID)
		if err != nil || c.Status != "active" || c.EndUser.ID != "u-dana" || c.EndUser.Email != "dana@customer.test" ||
			c.Metadata["plan"] != "pro" || c.Metadata["crm_account"] != "42" || c.AccountUsername != s.Demo.Adele.UPN ||
			c.ProjectID != s.Sales.ID || c.CreatedBy != "" {
			t.Fatalf("connection %+v (%v)", c, err)
		}
		var got session
		s.api(t, http.MethodGet, "/api/v1/connect-sessions/"+cs.ID, nil, &got)
		if got.Status != "completed" || got.ConnectionID != connID {
			t.Fatalf("session %+v", got)
		}
		// The token response's connection names the end user.
		var tok struct {
			Connection struct {
				EndUser  struct{ ID string } `json:"end_user"`
				Metadata map[string]string   `json:"metadata"`
			} `json:"connection"`
		}
		if status, prob := s.api(t, http.MethodGet, "/api/v1/connections/"+connID+"/token", nil, &tok); status != 200 ||
			tok.Connection.EndUser.ID != "u-dana" || tok.Connection.Metadata["plan"] != "pro" {
			t.Fatalf("token: %d %v %+v", status, prob, tok)
		}
		// The link's token is a credential: no log line holds it.
		token := strings.TrimPrefix(cs.ConnectURL, s.URL+"/connect/")
		if strings.Contains(s.logs.String(), token) {
			t.Fatal("the connect link's token is in the log")
		}
		// The audit log names the API key and the end user for the new connection.
		events, err := s.Store.ListAudit(ctx, s.Tenant.ID, store.AuditFilter{ConnectionID: connID})
		named := false
		for _, e := range events {
			if e.Action == "connection.created" {
				named = e.ActorType == "api_key" && e.ActorID == s.KeyID && e.Details["end_user_id"] == "u-dana" &&
					e.Details["connect_session_id"] == cs.ID
			}
		}
		if err != nil || !named {
			t.Fatalf("audit of the connection %+v (%v)", events, err)
		}
		// Opened again in the same browser: the outcome, not a second connection.
		b.Do("reopen the link", chromedp.Navigate(cs.ConnectURL), chromedp.WaitReady(chromedp.CSS("body")))
		s.waitReturn(t, b, 2)
	})

	t.Run("A reconnect link signs the broken connection in again under its ID", func(t *testing.T) {
		if connID == "" {
			t.Skip("needs the first subtest's connection")
		}
		if _, err := s.Store.UpdateConnection(ctx, s.Tenant.ID, connID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
			return store.ConnectionUpdate{Status: &store.StatusEvent{Status: "needs_reauth", ErrorCode: "AADSTS50173"}}, nil
		}); err != nil {
			t.Fatal(err)
		}
		cs := s.create(t, map[string]any{"reconnect_connection_id": connID})
		b.Do("open the reconnect link", chromedp.Navigate(cs.ConnectURL), chromedp.WaitVisible(chromedp.CSS("#reconnect")))
		b.Do("Sign in with Microsoft", chromedp.Click(chromedp.CSS("#reconnect")))
		s.atMicrosoft(t, b, s.Demo.Adele.UPN)
		back := s.waitReturn(t, b, 3)
		if back.Get("connection_id") != connID || back.Get("status") != "completed" {
			t.Fatalf("returned with %v, want connection %s", back, connID)
		}
		c, err := s.Store.Connection(ctx, s.Tenant.ID, connID)
		if err != nil || c.Status != "active" || c.EndUser.ID != "u-dana" {
			t.Fatalf("after reconnect %+v (%v)", c, err)
		}
	})

	t.Run("Client credentials", func(t *testing.T) {
		cs := s.create(t, map[string]any{"allowed_auth_types": []string{"client_credentials"},
			"end_user": map[string]any{"id": "u-ops"}, "connection_name": "Ops mailbox"})
		b.Do("open the link", chromedp.Navigate(cs.ConnectURL), chromedp.WaitVisible(chromedp.CSS("#client_id")))
		if browsertest.Eval[bool](b, `!!document.querySelector('#account_type option[value="common"]')`) {
			t.Fatal("a client-credentials-only page offers Common")
		}
		d := s.Demo
		b.Do("fill in the app",
			chromedp.SendKeys(chromedp.CSS("#ms_tenant"), d.Contoso.Domain),
			chromedp.SendKeys(chromedp.CSS("#user_principal"), d.Adele.UPN),
			chromedp.SendKeys(chromedp.CSS("#client_id"), d.DaemonApp.ClientID),
			chromedp.SendKeys(chromedp.CSS("#client_secret"), d.DaemonApp.Secret),
			chromedp.Click(chromedp.CSS("#submit")))
		back := s.waitReturn(t, b, 4)
		c, err := s.Store.Connection(ctx, s.Tenant.ID, back.Get("connection_id"))
		if err != nil || c.Status != "active" || c.AuthType != "client_credentials" || c.Name != "Ops mailbox" || c.EndUser.ID != "u-ops" {
			t.Fatalf("connection %+v (%v), returned %v", c, err, back)
		}
	})

	t.Run("An expired link says so", func(t *testing.T) {
		cs := s.create(t, map[string]any{"expires_in": 60})
		s.Clock.Advance(2 * time.Minute)
		b.Do("open the expired link", chromedp.Navigate(cs.ConnectURL), chromedp.WaitVisible(chromedp.CSS("#connect-status")))
		if kind := browsertest.Eval[string](b, `document.querySelector('#connect-status').dataset.kind`); kind != "expired" {
			t.Fatalf("page kind %q", kind)
		}
		if got := b.Text("h1"); got != "This link has expired" {
			t.Fatalf("heading %q", got)
		}
		var got session
		s.api(t, http.MethodGet, "/api/v1/connect-sessions/"+cs.ID, nil, &got)
		if got.Status != "expired" {
			t.Fatalf("API status %q", got.Status)
		}
	})

	t.Run("A link opened in a second browser is refused", func(t *testing.T) {
		cs := s.create(t, nil)
		b.Do("open in the first browser", chromedp.Navigate(cs.ConnectURL), chromedp.WaitVisible(chromedp.CSS("#submit")))
		other := browsertest.New(t, browsertest.Options{Timeout: 2 * time.Minute})
		other.Do("open in a second browser", chromedp.Navigate(cs.ConnectURL), chromedp.WaitVisible(chromedp.CSS("#connect-status")))
		if kind := browsertest.Eval[string](other, `document.querySelector('#connect-status').dataset.kind`); kind != "other_browser" {
			t.Fatalf("second browser sees %q", kind)
		}
		if browsertest.Eval[bool](other, `!!document.querySelector('form')`) {
			t.Fatal("the second browser got a form")
		}
		// The first browser still has its page.
		b.Do("reload in the first browser", chromedp.Navigate(cs.ConnectURL), chromedp.WaitVisible(chromedp.CSS("#submit")))
	})

	t.Run("A return_url outside the allowed origins is refused at creation", func(t *testing.T) {
		for _, bad := range []string{"https://evil.example.test/back", strings.Replace(s.Product.URL, "127.0.0.1", "localhost", 1) + "/x"} {
			status, prob := s.api(t, http.MethodPost, "/api/v1/connect-sessions", map[string]any{"project": "Sales",
				"end_user": map[string]any{"id": "u-dana"}, "return_url": bad}, nil)
			if status != 422 || prob["code"] != "invalid_input" || prob["field"] != "return_url" {
				t.Fatalf("%s: %d %v", bad, status, prob)
			}
		}
	})
}

// atMicrosoft plays the person at the simulation until the browser leaves
// it: sign in as account wherever a sign-in page asks, accept consent.
func (s *server) atMicrosoft(t *testing.T, b *browsertest.Browser, account string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	signedIn := false
	for time.Now().Before(deadline) {
		// Pages come and go under the loop: an evaluation during a
		// navigation fails, and the next turn looks again.
		href, _ := try[string](b, `location.href`)
		switch {
		case strings.HasPrefix(href, s.Product.URL) || strings.HasPrefix(href, s.URL+"/connect/"):
			if done, _ := try[bool](b, `!!document.querySelector('#product, #connect-status')`); done {
				return
			}
		case !signedIn && has(b, `main[data-host] #login`):
			if err := chromedp.Do(b.Ctx, chromedp.SetValue(chromedp.CSS("#login"), account), chromedp.Click(chromedp.CSS("#next"))); err == nil {
				signedIn = true
			}
		case has(b, `main[data-host] #accept`):
			chromedp.Do(b.Ctx, chromedp.Click(chromedp.CSS("#accept")))
		}
		time.Sleep(200 * time.Millisecond)
	}
	href, _ := try[string](b, `location.href`)
	t.Fatalf("still at %s", href)
}

func try[T any](b *browsertest.Browser, expr string) (T, error) {
	return chromedp.Run(b.Ctx, chromedp.Evaluate[T](expr))
}

func has(b *browsertest.Browser, sel string) bool {
	ok, _ := try[bool](b, `!!document.querySelector(`+"`"+sel+"`"+`)`)
	return ok
}

// waitReturn waits until the product has seen n returns and the browser
// shows its page, and gives the last return's query.
func (s *server) waitReturn(t *testing.T, b *browsertest.Browser, n int) url.Values {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if got := s.Product.returns(); len(got) >= n && has(b, "#product") {
			return got[len(got)-1]
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.Snap("no-return")
	href, _ := try[string](b, `location.href`)
	text, _ := try[string](b, `document.body.innerText`)
	t.Fatalf("the product saw %d returns, want %d; the browser is at %s: %s", len(s.Product.returns()), n, href, text)
	return nil
}

// pageCSP is the Content-Security-Policy a connect page is served with (a
// HEAD-like GET without cookies: the page refuses it, with the same CSP).
func (s *server) pageCSP(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("Content-Security-Policy")
}
