package tenantappsweb_test

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/admin"
	"github.com/brokerhq/broker/internal/adminweb"
	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/auth"
	"github.com/brokerhq/broker/internal/browsertest"
	"github.com/brokerhq/broker/internal/connections/conntest"
	"github.com/brokerhq/broker/internal/connweb"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/tenantapps"
	"github.com/brokerhq/broker/internal/tenantappsweb"
	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/web"
)

const (
	acmeClientID = "acacacac-1111-4222-8333-444455556666"
	acmeSecret   = "acme~BrowserSecret.value-1"
)

type server struct {
	*conntest.Env
	URL  string
	Logs *conntest.SyncBuffer
	Reg  *tenantapps.Registry
}

// newServer runs the broker's pages (connections, admin, app
// registrations) on localhost, with the sim as Microsoft and Acme's own
// app registered there.
func newServer(t *testing.T) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	s := &server{URL: "http://localhost:" + port, Logs: &conntest.SyncBuffer{}}
	s.Env = conntest.New(t, s.URL+"/oauth/callback")
	if err := s.Sim.RegisterApp(mssim.App{ClientID: acmeClientID, Name: "Acme Outlook", HomeTenant: s.Demo.Contoso.ID,
		Audience: mssim.AudienceMultipleOrgs, RedirectURIs: []string{s.Redirect}, RequirePKCE: true,
		Scopes:  append([]string{"openid", "profile", "email"}, mssim.OutlookScopes...),
		Secrets: []mssim.Secret{{Value: acmeSecret, Expires: s.Sim.Now().AddDate(1, 0, 0)}}}); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(s.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s.Reg = &tenantapps.Registry{Store: s.Store, Broker: s.MS, Base: s.MS.Microsoft, Logger: logger, Now: s.Clock.Now}
	toks := tokens.New(s.Store, s.MS, tokens.Options{Now: s.Clock.Now, Logger: logger, Apps: s.Reg})
	t.Cleanup(toks.Close)
	keys := apikeys.NewVerifier(s.Store, apikeys.Options{Now: s.Clock.Now, Logger: logger})
	adminPages := adminweb.New(admin.New(s.Store, toks, s.MS, s.MS, keys, logger, s.Clock.Now))
	conns := connweb.New(connweb.Options{Store: s.Store, Provider: s.MS, Graph: s.MS, RedirectURL: s.Redirect,
		Logger: logger, Now: s.Clock.Now, Admin: adminPages, Apps: s.Reg})
	apps := tenantappsweb.New(&tenantapps.Service{Store: s.Store, Registry: s.Reg, Verifier: s.MS, RedirectURL: s.Redirect,
		Logger: logger, Now: s.Clock.Now})
	router, err := web.New(web.Deps{Store: s.Store, Logger: logger, PublicURL: s.URL, SessionKeys: conntest.SessionKeys,
		Now: s.Clock.Now, Passwords: auth.CheapParams, Home: adminPages.Home,
		Mount: []func(chi.Router, *web.UI){conns.Mount, adminPages.Mount, apps.Mount}})
	if err != nil {
		t.Fatal(err)
	}
	hs := &httptest.Server{Listener: ln, Config: &http.Server{Handler: router}}
	hs.Start()
	t.Cleanup(hs.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("broker log:\n%s", s.Logs.String())
		}
	})
	return s
}

// TestBrowserTenantApp: in Chromium, a tenant admin adds Acme's own app
// registration (a wrong secret first: refused with Microsoft's code,
// nothing saved), makes it the Sales project's default, and signs a
// mailbox in through it at the simulated Microsoft; the sim counts the
// authorize and code redemption under Acme's client ID, none under the
// broker's. Screenshots at a laptop's and a phone's width go to
// $BROKER_SCREENSHOTS when set.
func TestBrowserTenantApp(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	dir := os.Getenv("BROKER_SCREENSHOTS")
	for i, width := range []int{1366, 390} {
		b := browsertest.New(t, browsertest.Options{Width: width, Height: 1000, Timeout: 90 * time.Second})
		b.SignIn(s.URL, s.Admin.Email, conntest.Password)
		shot := func(name string) {
			if dir != "" {
				b.SaveScreenshot(filepath.Join(dir, name+"-"+strconv.Itoa(width)+".png"))
			}
		}
		if i == 0 {
			b.Do("open App registrations", chromedp.Navigate(s.URL+tenantappsweb.Path), chromedp.WaitVisible(chromedp.CSS("#add-app")))
			if got := b.Text("#redirect-uri"); got != s.Redirect {
				t.Fatalf("redirect URI shown %q, want %q", got, s.Redirect)
			}
			b.Do("a wrong secret",
				chromedp.SendKeys(chromedp.CSS("#add-display_name"), "Acme Outlook"),
				chromedp.SendKeys(chromedp.CSS("#add-client_id"), acmeClientID),
				chromedp.SendKeys(chromedp.CSS("#add-home_tenant_id"), s.Demo.Contoso.ID),
				browsertest.SetSelect("#add-audience", "multiple_orgs"),
				chromedp.SendKeys(chromedp.CSS("#add-client_secret"), "acme~not-the-value"),
				chromedp.Click(chromedp.CSS("#add-app")),
				chromedp.WaitVisible(chromedp.CSS("#add-client_secret-error")))
			if got := b.Text("#add-client_secret-error"); !strings.Contains(got, "AADSTS7000215") {
				t.Fatalf("wrong secret: %q", got)
			}
			if v := browsertest.Eval[string](b, `document.querySelector('#add-client_secret').value`); v != "" {
				t.Fatalf("the refused secret is shown again: %q", v)
			}
			shot("tenant-apps-refused")
			b.Do("the right secret",
				chromedp.SendKeys(chromedp.CSS("#add-client_secret"), acmeSecret),
				chromedp.Click(chromedp.CSS("#add-app")),
				chromedp.WaitVisible(chromedp.CSS(".flash")))
			b.Do("make it Sales's default",
				browsertest.SetSelect("#project-"+s.Sales.ID, appID(t, s)),
				chromedp.Click(chromedp.CSS(`form[action="/settings/apps/projects/`+s.Sales.ID+`"] button`)))
			// The add's flash is still on the page until the POST answers:
			// wait for this one's, or the next navigation cancels the POST.
			b.WaitText(".flash", "existing ones keep theirs")
		} else {
			b.Do("open App registrations", chromedp.Navigate(s.URL+tenantappsweb.Path), chromedp.WaitVisible(chromedp.CSS("#add-app")))
		}
		shot("tenant-apps")

		b.Do("open the New connection form",
			chromedp.Navigate(s.URL+"/connections/new"),
			chromedp.WaitVisible(chromedp.CSS("#app")),
			chromedp.SendKeys(chromedp.CSS("#name"), "Adele via Acme "+strconv.Itoa(width)),
			browsertest.SetSelect("#account_type", "organizations"))
		if got := browsertest.Eval[string](b, `document.querySelector('#app option[value=""]').textContent`); !strings.Contains(got, "Acme Outlook") {
			t.Fatalf("the project's default is %q", got)
		}
		shot("connection-new-app")
		if i > 0 {
			continue
		}
		s.Sim.ResetCounts()
		b.Do("sign in at Microsoft through Acme's app",
			chromedp.Click(chromedp.CSS("#submit")),
			chromedp.WaitVisible(chromedp.CSS(`input[name="login"]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name="login"]`), s.Demo.Adele.UPN),
			chromedp.Click(chromedp.CSS("#next")),
			chromedp.WaitVisible(chromedp.CSS("#accept")),
			chromedp.Click(chromedp.CSS("#accept")),
			chromedp.WaitVisible(chromedp.CSS("#status")))
		if got := b.Text("#status"); got != "Active" {
			t.Fatalf("status %q", got)
		}
		if got := b.Text(".conn-sub"); !strings.Contains(got, "through Acme Outlook") {
			t.Errorf("the connection page does not name its app: %q", got)
		}
		shot("connection-through-app")
		for _, c := range []struct{ ep, grant string }{{mssim.EndpointAuthorize, ""}, {mssim.EndpointToken, "authorization_code"}} {
			if n := s.Sim.CountFor(acmeClientID, c.ep, c.grant); n != 1 {
				t.Errorf("%s %s as Acme's app: %d, want 1", c.ep, c.grant, n)
			}
			if n := s.Sim.CountFor(s.Demo.WebApp.ClientID, c.ep, c.grant); n != 0 {
				t.Errorf("%s %s as the broker's app: %d, want 0", c.ep, c.grant, n)
			}
		}
	}
	if strings.Contains(s.Logs.String(), acmeSecret) {
		t.Fatal("the app's secret is in the log")
	}
}

func appID(t *testing.T, s *server) string {
	t.Helper()
	apps, err := s.Store.AppRegistrations(t.Context(), s.Tenant.ID)
	if err != nil || len(apps) != 1 {
		t.Fatalf("apps %+v %v", apps, err)
	}
	return apps[0].ID
}
