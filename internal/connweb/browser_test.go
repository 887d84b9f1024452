package connweb_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brokerhq/broker/internal/browsertest"
	"github.com/brokerhq/broker/internal/connections/conntest"
)

// browse starts the broker on localhost and a headless Chromium signed in
// to it as the tenant admin.
func browse(t *testing.T) (*server, *browsertest.Browser) {
	t.Helper()
	t.Parallel()
	s := newServerAt(t, "localhost")
	// Generous: the machine running the tests may be busy (the browser
	// steps themselves take seconds).
	b := browsertest.New(t, browsertest.Options{Timeout: 3 * time.Minute})
	b.SignIn(s.URL, s.Admin.Email, conntest.Password)
	return s, b
}

func (s *server) openForm(t *testing.T, b *browsertest.Browser, name string) {
	t.Helper()
	b.Do("open the New connection form",
		chromedp.Navigate(s.URL+"/connections/new"),
		chromedp.WaitVisible(chromedp.CSS("#connection-form")),
		chromedp.SendKeys(chromedp.CSS("#name"), name),
	)
	// With JavaScript, fields for client credentials hide under authorization code.
	if visible := browsertest.Eval[bool](b, `!document.querySelector('#client_id').closest('[data-show-when]').hidden`); visible {
		t.Fatal("client credentials fields shown for an authorization code connection")
	}
}

func TestBrowserSignInWithMicrosoft(t *testing.T) {
	s, b := browse(t)
	s.openForm(t, b, "Adele's mailbox")
	b.Do("choose Tenant-specific",
		browsertest.SetSelect("#account_type", "tenant"),
		chromedp.WaitVisible(chromedp.CSS("#ms_tenant")),
		chromedp.SendKeys(chromedp.CSS("#ms_tenant"), s.Demo.Contoso.Domain),
	)
	b.Snap("form")
	b.Do("sign in at Microsoft",
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS(`input[name="login"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="login"]`), s.Demo.Adele.UPN),
		chromedp.Click(chromedp.CSS("#next")),
		chromedp.WaitVisible(chromedp.CSS("#accept")),
	)
	b.Snap("consent")
	b.Do("consent", chromedp.Click(chromedp.CSS("#accept")), chromedp.WaitVisible(chromedp.CSS("#status")))
	b.Snap("result")
	if got := b.Text("#status"); got != "Active" {
		t.Fatalf("status %q", got)
	}
	if got := b.Text("#account"); !strings.Contains(got, s.Demo.Adele.UPN) || !strings.Contains(got, "Adele Vance") {
		t.Fatalf("account %q", got)
	}
	if loc := browsertest.Eval[string](b, `location.pathname`); !strings.HasPrefix(loc, "/connections/") {
		t.Fatalf("landed on %s", loc)
	}
}

func TestBrowserClientCredentials(t *testing.T) {
	s, b := browse(t)
	s.openForm(t, b, "Daemon")
	b.Do("fill in client credentials",
		browsertest.SetSelect("#account_type", "tenant"),
		chromedp.SendKeys(chromedp.CSS("#ms_tenant"), s.Demo.Contoso.ID),
		browsertest.SetSelect("#auth_type", "client_credentials"),
		chromedp.WaitVisible(chromedp.CSS("#client_id")),
		chromedp.SendKeys(chromedp.CSS("#user_principal"), s.Demo.Adele.UPN),
		chromedp.SendKeys(chromedp.CSS("#client_id"), s.Demo.DaemonApp.ClientID),
		chromedp.SendKeys(chromedp.CSS("#client_secret"), "wrong~secret-value"),
	)
	if got := b.Text("#submit"); !strings.Contains(got, "Check and connect") {
		t.Fatalf("button says %q", got)
	}
	b.Do("submit a wrong secret", chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS("#client_secret-error")))
	b.Snap("form-error")
	if got := b.Text("#client_secret-error"); !strings.Contains(got, "AADSTS7000215") {
		t.Fatalf("secret error %q", got)
	}
	if v := browsertest.Eval[string](b, `document.querySelector('#client_secret').value`); v != "" {
		t.Fatal("the secret was put back into the form")
	}
	if v := browsertest.Eval[string](b, `document.querySelector('#client_id').value`); v != s.Demo.DaemonApp.ClientID {
		t.Fatalf("client ID not kept: %q", v)
	}
	b.Do("enter the right secret",
		chromedp.SendKeys(chromedp.CSS("#client_secret"), s.Demo.DaemonApp.Secret),
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS("#status")),
	)
	b.Snap("result")
	if got := b.Text("#status"); got != "Active" {
		t.Fatalf("status %q", got)
	}
}

func TestBrowserCancelAndTryAgain(t *testing.T) {
	s, b := browse(t)
	s.openForm(t, b, "Changed my mind")
	b.Snap("form")
	b.Do("cancel at Microsoft",
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS(`input[name="login"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="login"]`), s.Demo.Alex.UPN),
		chromedp.Click(chromedp.CSS("#next")),
		chromedp.WaitVisible(chromedp.CSS("#cancel")),
		chromedp.Click(chromedp.CSS("#cancel")),
		chromedp.WaitVisible(chromedp.CSS("#callback-problem")),
	)
	b.Snap("cancelled")
	if got := b.Text("#problem-title"); got != "Sign-in cancelled" {
		t.Fatalf("title %q", got)
	}
	// "Try again" posts from a page sent with Referrer-Policy: no-referrer.
	b.Do("try again",
		chromedp.Click(chromedp.CSS("#retry")),
		chromedp.WaitVisible(chromedp.CSS(`input[name="login"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="login"]`), s.Demo.Alex.UPN),
		chromedp.Click(chromedp.CSS("#next")),
		chromedp.WaitVisible(chromedp.CSS("#accept")),
		chromedp.Click(chromedp.CSS("#accept")),
		chromedp.WaitVisible(chromedp.CSS("#status")),
	)
	b.Snap("result")
	if got := b.Text("#status"); got != "Active" {
		t.Fatalf("status %q", got)
	}
}
