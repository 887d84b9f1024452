package connweb_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brokerhq/broker/internal/browsertest"
	"github.com/brokerhq/broker/internal/connections/conntest"
)

// TestBrowserSignInEveryAccountType signs in through every kind of
// authority and account in real Chromium, under the broker's real CSP
// (form-action 'self'), across the sim's three origins: the login host,
// the Microsoft account host (login.live.com's part) and a federated
// organisation's identity provider. Each sign-in must end on the
// connection's page, Active. Before the hand-off page, the hops to the
// second and third host were blocked by form-action and the browser stayed
// on the form.
//
// It runs alone, before the parallel browser tests: seven sign-ins in one
// Chromium, and a busy machine should not time it out.
func TestBrowserSignInEveryAccountType(t *testing.T) {
	s := newServerAt(t, "localhost")
	b := browsertest.New(t, browsertest.Options{Timeout: 4 * time.Minute})
	b.SignIn(s.URL, s.Admin.Email, conntest.Password)
	d := s.Demo
	hosts := map[string]string{"login": s.SimURL, "msa": s.MSAURL, "idp": s.IdPURL}

	type hop struct{ host, account string } // a sign-in page, and who types in it
	cases := []struct {
		name, accountType, tenant string
		hops                      []hop
		consentOn                 string // the host of the consent page; "": consented before
		account                   string
	}{
		{"Common, work account", "common", "", []hop{{"login", d.Adele.UPN}}, "login", d.Adele.UPN},
		// Consumer goes to the Microsoft account host before any page.
		{"Consumer", "consumers", "", []hop{{"msa", d.Pat.UPN}}, "msa", d.Pat.UPN},
		{"Common, personal account", "common", "", []hop{{"login", d.Pat.UPN}, {"msa", d.Pat.UPN}}, "", d.Pat.UPN},
		{"Organization", "organizations", "", []hop{{"login", d.Alex.UPN}}, "login", d.Alex.UPN},
		{"Tenant-specific", "tenant", d.Contoso.Domain, []hop{{"login", d.Adele.UPN}}, "", d.Adele.UPN},
		{"Federated tenant", "tenant", d.Northwind.ID, []hop{{"login", d.Lee.UPN}, {"idp", d.Lee.UPN}}, "login", d.Lee.UPN},
	}
	var federatedPage string
	for _, c := range cases {
		ok := t.Run(c.name, func(t *testing.T) {
			s.openForm(t, b, c.name)
			b.Do("choose "+c.accountType, browsertest.SetSelect("#account_type", c.accountType))
			if c.tenant != "" {
				b.Do("enter the tenant", chromedp.WaitVisible(chromedp.CSS("#ms_tenant")),
					chromedp.SendKeys(chromedp.CSS("#ms_tenant"), c.tenant))
			}
			b.Do("Sign in with Microsoft", chromedp.Click(chromedp.CSS("#submit")))
			for _, h := range c.hops {
				signInOn(t, b, hosts, h.host, h.account)
			}
			if c.consentOn != "" {
				consentOn(t, b, hosts, c.consentOn)
			}
			wantActive(t, b, s.URL, c.account)
			// Personal accounts never get .Shared: a Consumer connection does
			// not ask, and on Common it is explained, not flagged.
			personalNote := browsertest.Eval[bool](b, `!!document.querySelector('#personal-scopes')`)
			if want := c.name == "Common, personal account"; personalNote != want {
				t.Fatalf("note about personal accounts shown = %v, want %v", personalNote, want)
			}
			if c.name == "Consumer" && strings.Contains(b.Text(".scope-table"), ".Shared") {
				t.Fatalf("a Consumer connection asked for .Shared: %s", b.Text(".scope-table"))
			}
			if c.name == "Federated tenant" {
				federatedPage = browsertest.Eval[string](b, `location.href`)
			}
		})
		if !ok {
			t.FailNow()
		}
	}
	t.Run("Reconnect the federated account with login_hint", func(t *testing.T) {
		b.Do("open the connection", chromedp.Navigate(federatedPage), chromedp.WaitVisible(chromedp.CSS("#reconnect")),
			chromedp.Click(chromedp.CSS("#reconnect")))
		// login_hint of a federated domain: straight to the IdP, no page at
		// Microsoft in between; consent was given, so none is asked.
		b.Do("arrive at the IdP", chromedp.WaitVisible(chromedp.CSS(`main[data-host] #login`)))
		if got := browsertest.Eval[string](b, `document.querySelector('main').dataset.host`); got != "idp" {
			t.Fatalf("the first sign-in page after Reconnect is on the %s host, want the IdP", got)
		}
		signInOn(t, b, hosts, "idp", d.Lee.UPN)
		wantActive(t, b, s.URL, d.Lee.UPN)
		if got := b.Text(".flash"); !strings.Contains(got, "Reconnected") {
			t.Fatalf("flash %q", got)
		}
	})
}

// signInOn waits for the sign-in page of host (checked by its origin and
// its brand), types account over whatever was prefilled and presses Next.
func signInOn(t *testing.T, b *browsertest.Browser, hosts map[string]string, host, account string) {
	t.Helper()
	b.Do("sign-in page on the "+host+" host",
		chromedp.WaitVisible(chromedp.CSS(`main[data-host="`+host+`"] #login`)),
	)
	if got := browsertest.Eval[string](b, `location.origin`); got != hosts[host] {
		t.Fatalf("%s sign-in page served from %s, want %s", host, got, hosts[host])
	}
	b.Snap("signin-" + host)
	b.Do("sign in as "+account+" on the "+host+" host",
		chromedp.SetValue(chromedp.CSS("#login"), account),
		chromedp.Click(chromedp.CSS("#next")),
	)
}

func consentOn(t *testing.T, b *browsertest.Browser, hosts map[string]string, host string) {
	t.Helper()
	b.Do("consent page on the "+host+" host", chromedp.WaitVisible(chromedp.CSS(`main[data-host="`+host+`"] #accept`)))
	if got := browsertest.Eval[string](b, `location.origin`); got != hosts[host] {
		t.Fatalf("consent page served from %s, want %s", got, hosts[host])
	}
	b.Do("accept", chromedp.Click(chromedp.CSS("#accept")))
}

func wantActive(t *testing.T, b *browsertest.Browser, brokerURL, account string) {
	t.Helper()
	b.Do("back on the connection page", chromedp.WaitVisible(chromedp.CSS("#status")))
	b.Snap("connection")
	if got := browsertest.Eval[string](b, `location.origin + location.pathname`); !strings.HasPrefix(got, brokerURL+"/connections/") {
		t.Fatalf("landed on %s", got)
	}
	if got := b.Text("#status"); got != "Active" {
		t.Fatalf("status %q", got)
	}
	if got := b.Text("#account"); !strings.Contains(got, account) {
		t.Fatalf("account %q, want %s", got, account)
	}
	if browsertest.Eval[bool](b, `!!document.querySelector('#missing-scopes')`) {
		t.Fatalf("flagged as missing permissions: %s", b.Text("#missing-scopes"))
	}
}
