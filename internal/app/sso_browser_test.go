package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brokerhq/broker/internal/app"
	"github.com/brokerhq/broker/internal/browsertest"
	"github.com/brokerhq/broker/internal/store"
)

// In Chromium, under the broker's real CSP: an admin links Contoso by
// signing in with Contoso's admin at (simulated) Microsoft; Adele then signs
// in with "Sign in with Microsoft" on /login and lands signed in; Megan, of
// an unlinked tenant, gets a page saying why. With BROKER_SCREENSHOTS set,
// the login and settings pages are also written at 1366 and 390 px.
func TestSSOInTheBrowser(t *testing.T) {
	e := newSSOEnv(t)
	b := browsertest.New(t, browsertest.Options{Width: 1366, Height: 900, Timeout: 5 * time.Minute})
	b.SignIn(e.base, app.DemoAdminEmail, app.DemoAdminPassword)
	b.Do("open Single sign-on from the navigation", chromedp.Navigate(e.base+"/connections"),
		chromedp.WaitVisible(chromedp.CSS(`nav a[href="/settings/sso"]`)), chromedp.Click(chromedp.CSS(`nav a[href="/settings/sso"]`)),
		chromedp.WaitVisible(chromedp.CSS("#link-tenant")))
	if got := b.Text("#redirect-uri"); got != e.base+"/login/microsoft/callback" {
		t.Fatalf("redirect URI shown: %q", got)
	}
	b.Do("link an Entra tenant", chromedp.Click(chromedp.CSS("#link-tenant")))
	microsoft(t, b, e.base, e.demo.ContosoAdmin.UPN)
	b.Do("back on the settings page", chromedp.WaitVisible(chromedp.CSS("#links")))
	if got := b.Text("#links"); !strings.Contains(got, e.demo.Contoso.ID) || !strings.Contains(got, e.demo.ContosoAdmin.UPN) {
		t.Fatalf("linked tenants: %q", got)
	}
	if got := b.Text(".flash"); !strings.Contains(got, "Linked") {
		t.Fatalf("flash: %q", got)
	}
	b.Snap("linked")

	b.Do("sign out", chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.CSS("#sso-signin")))
	b.Do("Sign in with Microsoft", chromedp.Click(chromedp.CSS("#sso-signin")))
	microsoft(t, b, e.base, e.demo.Adele.UPN)
	b.Do("signed in", chromedp.WaitVisible(chromedp.CSS(".signout")))
	if got := b.Text("body"); !strings.Contains(got, e.demo.Adele.UPN) {
		t.Fatalf("signed in, but the page does not name Adele: %q", got)
	}
	b.Snap("signed-in")

	b.Do("sign out again", chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.CSS("#sso-signin")))
	b.Do("Sign in with Microsoft as Megan", chromedp.Click(chromedp.CSS("#sso-signin")))
	microsoft(t, b, e.base, e.demo.Megan.UPN)
	b.Do("refused", chromedp.WaitVisible(chromedp.CSS("#sso-problem")))
	if got := b.Text("#sso-problem"); !strings.Contains(got, "not set up for this broker") || !strings.Contains(got, e.demo.Megan.UPN) {
		t.Fatalf("unlinked tenant's page: %q", got)
	}
	b.Snap("unlinked")

	dir := os.Getenv("BROKER_SCREENSHOTS")
	if dir == "" {
		return
	}
	projects, err := e.a.Store.ListProjects(context.Background(), e.seed.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Store.AddSSORule(context.Background(), store.SSORule{TenantID: e.seed.TenantID, Claim: store.SSOClaimGroup,
		Value: ssoGroup, Role: store.RoleAdmin, ProjectIDs: []string{projects[0].ID, projects[1].ID}}); err != nil {
		t.Fatal(err)
	}
	for _, width := range []int{1366, 390} {
		w := strconv.Itoa(width)
		s := browsertest.New(t, browsertest.Options{Width: width, Height: 900, Timeout: 5 * time.Minute})
		s.Do("open /login", chromedp.Navigate(e.base+"/login"), chromedp.WaitVisible(chromedp.CSS("#sso-signin")))
		s.SaveScreenshot(filepath.Join(dir, "login-"+w+".png"))
		s.Do("Sign in with Microsoft as Megan", chromedp.Click(chromedp.CSS("#sso-signin")))
		microsoft(t, s, e.base, e.demo.Megan.UPN)
		s.Do("refused", chromedp.WaitVisible(chromedp.CSS("#sso-problem")))
		s.SaveScreenshot(filepath.Join(dir, "sso-unlinked-"+w+".png"))
		s.SignIn(e.base, app.DemoAdminEmail, app.DemoAdminPassword)
		s.Do("open the settings", chromedp.Navigate(e.base+"/settings/sso"), chromedp.WaitVisible(chromedp.CSS("#links")))
		s.SaveScreenshot(filepath.Join(dir, "sso-settings-"+w+".png"))
		s.Do("an invalid rule", chromedp.SendKeys(chromedp.CSS("#value"), "Sales team"), chromedp.Click(chromedp.CSS("#add-rule")),
			chromedp.WaitVisible(chromedp.CSS("#value-error")))
		s.SaveScreenshot(filepath.Join(dir, "sso-settings-invalid-"+w+".png"))
	}
}

// microsoft signs account in on the simulation's pages and accepts consent
// when asked (an account asked before is not asked again).
func microsoft(t *testing.T, b *browsertest.Browser, brokerURL, account string) {
	t.Helper()
	b.Do("Microsoft's sign-in page", chromedp.WaitVisible(chromedp.CSS("main[data-host] #login")))
	b.Do("sign in as "+account, chromedp.SetValue(chromedp.CSS("#login"), account), chromedp.Click(chromedp.CSS("#next")))
	deadline := time.Now().Add(2 * time.Minute) // a generous poll, not a bound on speed
	for time.Now().Before(deadline) {
		// Asked while the sign-in navigates: an evaluation that meets the
		// page being replaced is asked again, not a failure.
		where, err := browsertest.TryEval[string](b, `document.querySelector('#accept') ? 'consent' :
			(location.href.startsWith(`+"`"+brokerURL+"`"+`) ? 'back' : 'wait')`)
		if err != nil && b.Ctx.Err() != nil {
			t.Fatalf("waiting for Microsoft's consent page or the broker: %v", err)
		}
		switch where {
		case "consent":
			b.Do("consent", chromedp.Click(chromedp.CSS("#accept")))
			return
		case "back":
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("neither Microsoft's consent page nor the broker came back")
}
