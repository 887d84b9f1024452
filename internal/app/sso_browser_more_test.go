package app_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brokerhq/broker/internal/app"
	"github.com/brokerhq/broker/internal/browsertest"
	"github.com/brokerhq/broker/internal/store"
)

// Generous everywhere: these run beside other browser tests on a shared
// machine, and a slow page is not a failure.
const ssoBrowserTimeout = 10 * time.Minute

// In Chromium: Adele's first sign-in with Microsoft makes her a member, who
// may not open the admins' Single sign-on page; the admin adds a group rule
// on that page; Microsoft puts Adele in the group; at her next sign-in she
// is an admin and the page opens.
func TestSSOGroupRuleMakesAdminInTheBrowser(t *testing.T) {
	e := newSSOEnv(t)
	e.linkContoso(t)
	b := browsertest.New(t, browsertest.Options{Width: 1366, Height: 900, Timeout: ssoBrowserTimeout})

	e.browserSSOSignIn(t, b, e.demo.Adele.UPN)
	u, err := e.a.Store.UserBySSOIdentity(context.Background(), e.seed.TenantID, e.demo.Contoso.ID, e.demo.Adele.ObjectID)
	if err != nil || u.Role != store.RoleMember {
		t.Fatalf("first sign-in: role %q, %v; want a new member", u.Role, err)
	}
	if n := browsertest.Eval[int](b, `document.querySelectorAll('nav a[href="/settings/sso"]').length`); n != 0 {
		t.Fatal("a member's navigation offers Single sign-on")
	}
	b.Do("a member opens /settings/sso", chromedp.Navigate(e.base+"/settings/sso"), chromedp.WaitVisible(chromedp.CSS("main")))
	if got := b.Text("main"); !strings.Contains(got, "Only an administrator") {
		t.Fatalf("a member on /settings/sso sees: %q", got)
	}
	b.Snap("member-refused")

	// The admin adds the rule through the form.
	b.Do("sign out", chromedp.Navigate(e.base+"/connections"), chromedp.WaitVisible(chromedp.CSS(".signout button")),
		chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.CSS("#sso-signin")))
	b.SignIn(e.base, app.DemoAdminEmail, app.DemoAdminPassword)
	b.Do("open the settings", chromedp.Navigate(e.base+"/settings/sso"), chromedp.WaitVisible(chromedp.CSS("#rule-form")))
	projects, err := e.a.Store.ListProjects(context.Background(), e.seed.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	b.Do("fill the rule", browsertest.SetSelect("#claim", "group"), chromedp.SendKeys(chromedp.CSS("#value"), ssoGroup),
		browsertest.SetSelect("#role", "admin"),
		chromedp.Click(chromedp.CSS(`input[name="project"][value="`+projects[0].ID+`"]`)),
		chromedp.Click(chromedp.CSS("#add-rule")), chromedp.WaitVisible(chromedp.CSS("#rules")))
	if got := b.Text("#rules"); !strings.Contains(got, ssoGroup) || !strings.Contains(got, "admin") || !strings.Contains(got, projects[0].Name) {
		t.Fatalf("rules: %q", got)
	}
	b.Snap("rule-added")
	b.Do("admin signs out", chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.CSS("#sso-signin")))

	if err := e.sim.SetUserGroups(e.demo.Adele.UPN, []string{ssoGroup}); err != nil {
		t.Fatal(err)
	}
	e.browserSSOSignIn(t, b, e.demo.Adele.UPN)
	b.Do("Single sign-on in Adele's navigation", chromedp.WaitVisible(chromedp.CSS(`nav a[href="/settings/sso"]`)),
		chromedp.Click(chromedp.CSS(`nav a[href="/settings/sso"]`)), chromedp.WaitVisible(chromedp.CSS("#rule-form")))
	if got := b.Text("body"); !strings.Contains(got, e.demo.Adele.UPN) {
		t.Fatalf("the admin page is not Adele's: %q", got)
	}
	u2, err := e.a.Store.UserBySSOIdentity(context.Background(), e.seed.TenantID, e.demo.Contoso.ID, e.demo.Adele.ObjectID)
	if err != nil || u2.ID != u.ID || u2.Role != store.RoleAdmin {
		t.Fatalf("after the rule: same user %v, role %q, %v", u2.ID == u.ID, u2.Role, err)
	}
	b.Snap("adele-admin")
}

// In Chromium: the admin requires single sign-on on the settings page; a
// member's right password is then refused on /login with a message naming
// "Sign in with Microsoft"; the operator's break-glass admin still gets in.
func TestSSORequiredRefusesPasswordInTheBrowser(t *testing.T) {
	e := newSSOEnv(t, app.DemoAdminEmail)
	e.linkContoso(t)
	b := browsertest.New(t, browsertest.Options{Width: 1366, Height: 900, Timeout: ssoBrowserTimeout})
	b.SignIn(e.base, app.DemoAdminEmail, app.DemoAdminPassword)
	b.Do("open the settings", chromedp.Navigate(e.base+"/settings/sso"), chromedp.WaitVisible(chromedp.CSS("#toggle-require")))
	if got := b.Text("#require-state"); got != "Optional" {
		t.Fatalf("before: %q", got)
	}
	b.Do("require single sign-on", chromedp.Click(chromedp.CSS("#toggle-require")),
		chromedp.WaitVisible(chromedp.CSS(".flash")), chromedp.WaitVisible(chromedp.CSS("#require-state")))
	if got := b.Text("#require-state"); got != "Required" {
		t.Fatalf("after: %q", got)
	}
	b.Do("sign out", chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.CSS("#sso-signin")))

	b.Do("the member's right password",
		chromedp.Navigate(e.base+"/login"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), app.DemoMemberEmail),
		chromedp.SendKeys(chromedp.CSS("#password"), app.DemoAdminPassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.form-error[role="alert"]`)))
	if got := b.Text(`.form-error[role="alert"]`); !strings.Contains(got, "Sign in with Microsoft") || !strings.Contains(got, "Passwords are turned off") {
		t.Fatalf("refusal: %q", got)
	}
	if n := browsertest.Eval[int](b, `document.querySelectorAll('.signout').length`); n != 0 {
		t.Fatal("the member is signed in")
	}
	if path := browsertest.Eval[string](b, `location.pathname`); path != "/login" {
		t.Fatalf("refused, but on %s", path)
	}
	b.Snap("password-refused")
	b.SignIn(e.base, app.DemoAdminEmail, app.DemoAdminPassword) // break glass: waits for .signout
	if got := b.Text("body"); !strings.Contains(got, app.DemoAdminEmail) {
		t.Fatalf("break-glass admin's page: %q", got)
	}
}

// In Chromium: Adele, an admin signed in with Microsoft, opens "Delete" on
// a connection after the 15-minute window. The broker sends her to
// Microsoft with prompt=login and max_age=0 (the sim saw both). Cancelling
// there, or confirming as another account, leaves the connection in place;
// signing in again as herself brings her back to the confirmation, and the
// connection is deleted only when she presses Delete.
func TestSSOReauthBeforeDeleteInTheBrowser(t *testing.T) {
	e := newSSOEnv(t)
	ctx := context.Background()
	admin := e.linkContoso(t)
	if r := e.do(t, admin, "POST", "/settings/sso/rules", url.Values{"claim": {"role"}, "value": {"Broker.Admin"}, "role": {"admin"}}); r.StatusCode != 303 {
		t.Fatalf("rule: %d", r.StatusCode)
	}
	if err := e.sim.AssignAppRoles(e.demo.Adele.UPN, e.demo.WebApp.ClientID, []string{"Broker.Admin"}); err != nil {
		t.Fatal(err)
	}
	b := browsertest.New(t, browsertest.Options{Width: 1366, Height: 900, Timeout: ssoBrowserTimeout})
	e.browserSSOSignIn(t, b, e.demo.Adele.UPN)
	confirm := "/connections/" + e.seed.ConnectionID + "/confirm/delete"
	stillThere := func(when string) {
		t.Helper()
		if _, err := e.a.Store.Connection(ctx, e.seed.TenantID, e.seed.ConnectionID); err != nil {
			t.Fatalf("%s: the connection is gone: %v", when, err)
		}
	}

	e.clock.Advance(16 * time.Minute)
	start := time.Now()
	step := func(name string) { t.Logf("%6.1fs %s (load %s)", time.Since(start).Seconds(), name, loadavg()) }
	toMicrosoft := func(what string) {
		t.Helper()
		b.Do(what, chromedp.Navigate(e.base+confirm), chromedp.WaitVisible(chromedp.CSS("main[data-host] #login")))
		q := e.sim.LastAuthorizeRequest()
		if q.Get("prompt") != "login" || q.Get("max_age") != "0" || q.Get("login_hint") != e.demo.Adele.UPN {
			t.Fatalf("%s: the sim saw prompt=%q max_age=%q login_hint=%q; want login, 0, Adele", what,
				q.Get("prompt"), q.Get("max_age"), q.Get("login_hint"))
		}
		if got := browsertest.Eval[string](b, `location.pathname`); !strings.Contains(got, e.demo.Contoso.ID) {
			t.Fatalf("%s: authority %s, want Adele's tenant", what, got)
		}
	}

	step("start")
	// Cancel: Alex (who never consented) presses Cancel on the consent page.
	toMicrosoft("open Delete after the window")
	b.Snap("at-microsoft")
	b.Do("sign in as Alex", chromedp.SetValue(chromedp.CSS("#login"), e.demo.Alex.UPN), chromedp.Click(chromedp.CSS("#next")),
		chromedp.WaitVisible(chromedp.CSS("#cancel")), chromedp.Click(chromedp.CSS("#cancel")),
		chromedp.WaitVisible(chromedp.CSS("main")))
	e.waitBack(t, b)
	if got := b.Text("main"); !strings.Contains(got, "Microsoft did not sign you in") {
		t.Fatalf("after Cancel: %q", got)
	}
	b.Snap("cancelled")
	stillThere("after Cancel")

	step("cancelled")
	// Another account: Alex signs in and accepts.
	toMicrosoft("open Delete again")
	microsoft(t, b, e.base, e.demo.Alex.UPN)
	e.waitBack(t, b)
	b.Do("the broker's answer", chromedp.WaitVisible(chromedp.CSS("main h1")))
	if got := b.Text("main"); !strings.Contains(got, "That is another Microsoft account") {
		t.Fatalf("confirmed as Alex: %q", got)
	}
	b.Snap("other-account")
	stillThere("after Alex")

	step("other account refused")
	// Adele herself: back on the confirmation, nothing deleted yet.
	toMicrosoft("open Delete a third time")
	microsoft(t, b, e.base, e.demo.Adele.UPN)
	b.Do("back on the confirmation", chromedp.WaitVisible(chromedp.CSS("#confirm")))
	if path := browsertest.Eval[string](b, `location.pathname`); path != confirm {
		t.Fatalf("back on %s, want %s", path, confirm)
	}
	if got := b.Text(".flash"); !strings.Contains(got, "Confirmed with Microsoft") {
		t.Fatalf("flash: %q", got)
	}
	if n := browsertest.Eval[int](b, `document.querySelectorAll('#password').length`); n != 0 {
		t.Fatal("an SSO session is asked for a password")
	}
	step("back on the confirmation")
	stillThere("back from Microsoft, before pressing Delete")
	b.Snap("confirm")
	b.Do("press Delete", chromedp.SendKeys(chromedp.CSS("#reason"), "Replaced by a new mailbox"),
		chromedp.Click(chromedp.CSS("#confirm")))
	e.waitPath(t, b, "/connections")
	b.Do("the list says so", chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := b.Text(".flash"); !strings.Contains(got, "Deleted") {
		t.Fatalf("flash after Delete: %q", got)
	}
	step("deleted")
	if _, err := e.a.Store.Connection(ctx, e.seed.TenantID, e.seed.ConnectionID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after Delete: %v, want not found", err)
	}
}

// browserSSOSignIn presses "Sign in with Microsoft" on /login and signs
// account in at the sim, until the broker shows a signed-in page.
func (e *ssoEnv) browserSSOSignIn(t *testing.T, b *browsertest.Browser, account string) {
	t.Helper()
	b.Do("open /login", chromedp.Navigate(e.base+"/login"), chromedp.WaitVisible(chromedp.CSS("#sso-signin")))
	b.Do("Sign in with Microsoft as "+account, chromedp.Click(chromedp.CSS("#sso-signin")))
	microsoft(t, b, e.base, account)
	b.Do("signed in as "+account, chromedp.WaitVisible(chromedp.CSS(".signout")))
}

// waitPath waits until the browser shows the broker's page at path.
func (e *ssoEnv) waitPath(t *testing.T, b *browsertest.Browser, path string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // a generous poll, not a bound on speed
	for time.Now().Before(deadline) {
		if browsertest.Eval[bool](b, `location.href === `+"`"+e.base+path+"`"+` && document.readyState === 'complete'`) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the browser did not reach %s", path)
}

// waitBack waits until the browser is on a broker page again.
func (e *ssoEnv) waitBack(t *testing.T, b *browsertest.Browser) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // a generous poll, not a bound on speed
	for time.Now().Before(deadline) {
		// An evaluation that meets the page being replaced is asked again.
		if back, err := browsertest.TryEval[bool](b, `location.href.startsWith(`+"`"+e.base+"/`"+`) && document.readyState === 'complete'`); err == nil && back {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("the browser did not come back to the broker")
}

// loadavg is the machine's 1-minute load, logged beside timings.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
