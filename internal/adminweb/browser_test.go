package adminweb_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brokerhq/broker/internal/admin/admintest"
	"github.com/brokerhq/broker/internal/browsertest"
	"github.com/brokerhq/broker/internal/connections/conntest"
	"github.com/brokerhq/broker/internal/store"
)

// browse starts the broker on localhost and a headless Chromium signed in
// to it as the tenant admin.
func browse(t *testing.T) (*admintest.Server, *browsertest.Browser) {
	t.Helper()
	t.Parallel()
	s := admintest.NewAt(t, "localhost")
	b := browsertest.New(t, browsertest.Options{})
	b.SignIn(s.URL, s.Admin.Email, conntest.Password)
	return s, b
}

// rowNames are the connection names the list shows.
func rowNames(b *browsertest.Browser) []string {
	return browsertest.Eval[[]string](b, `[...document.querySelectorAll('#connections .adm-name a')].map(a => a.textContent)`)
}

func TestBrowserFilterBrokenReconnectAndSeeItActive(t *testing.T) {
	s, b := browse(t)
	// Microsoft stopped accepting Alex's grant; the token service recorded it.
	if err := s.Sim.ExpireUserGrants(s.Demo.Alex.UPN); err != nil {
		t.Fatal(err)
	}
	s.SetStatus(t, s.SupportConn, store.StatusEvent{Status: "needs_reauth", ErrorCode: "AADSTS70008",
		Reason: "the refresh token has expired or was revoked.", TraceID: "trace-1"})

	b.Do("open the list", chromedp.Navigate(s.URL+"/connections"), chromedp.WaitVisible(chromedp.CSS("#connections")))
	if got := rowNames(b); len(got) != 3 {
		t.Fatalf("list shows %v", got)
	}
	b.Do("filter to broken connections", chromedp.Click(chromedp.CSS("a.adm-count-broken")),
		chromedp.WaitVisible(chromedp.CSS(`a.adm-count-broken[aria-current="true"]`)))
	b.Snap("broken")
	if got := rowNames(b); len(got) != 1 || got[0] != "Support inbox" {
		t.Fatalf("broken filter shows %v", got)
	}
	if got := b.Text("#connections .adm-status-cell"); !strings.Contains(got, "Needs re-authorization") || !strings.Contains(got, "AADSTS70008") {
		t.Fatalf("status cell %q", got)
	}

	b.Do("open it", chromedp.Click(chromedp.CSS("#connections .adm-name a")), chromedp.WaitVisible(chromedp.CSS("#reconnect")))
	b.Snap("connection")
	b.Do("reconnect at Microsoft",
		chromedp.Click(chromedp.CSS("#reconnect")),
		chromedp.WaitVisible(chromedp.CSS(`input[name="login"]`)),
	)
	// A reconnect sends login_hint, so Microsoft offers the same account.
	if got := browsertest.Eval[string](b, `document.querySelector('input[name="login"]').value`); got != s.Demo.Alex.UPN {
		t.Fatalf("reconnect's sign-in page offers %q, want %q (login_hint)", got, s.Demo.Alex.UPN)
	}
	b.Do("continue as that account", chromedp.Click(chromedp.CSS("#next")))
	consentIfAsked(t, b, s.URL)
	b.Do("back at the broker", chromedp.WaitVisible(chromedp.CSS("#status")))
	b.Snap("reconnected")
	if got := b.Text("#status"); got != "Active" {
		t.Fatalf("status after reconnect %q", got)
	}
	if loc := browsertest.Eval[string](b, `location.pathname`); loc != "/connections/"+s.SupportConn.ID {
		t.Fatalf("landed on %s, want the same connection", loc)
	}

	b.Do("the list again", chromedp.Navigate(s.URL+"/connections?status=broken"), chromedp.WaitVisible(chromedp.CSS("#empty")))
	b.Do("every connection", chromedp.Navigate(s.URL+"/connections"), chromedp.WaitVisible(chromedp.CSS("#connections")))
	if got := browsertest.Eval[string](b, `document.querySelector('a.adm-count-broken .adm-count-n').textContent`); got != "0" {
		t.Fatalf("broken count %q after reconnect", got)
	}
}

// consentIfAsked accepts Microsoft's consent page if it comes, and returns
// once the browser is back at the broker or on that page's answer.
func consentIfAsked(t *testing.T, b *browsertest.Browser, brokerURL string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		// An evaluation that meets the page being replaced is asked again.
		state, _ := browsertest.TryEval[string](b, `document.querySelector('#accept') ? 'consent' :
			(location.href.startsWith(`+"`"+brokerURL+"`"+`) ? 'back' : 'wait')`)
		switch state {
		case "consent":
			b.Do("accept", chromedp.Click(chromedp.CSS("#accept")))
			return
		case "back":
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("neither the consent page nor the broker came back")
}

func TestBrowserDisableStopsTokenFetchesRightAway(t *testing.T) {
	s, b := browse(t)
	key := s.APIKey(t, s.Tenant.ID, "billing-sync", false)
	res := s.API(t, http.MethodGet, tokenPath(s.SalesConn.ID), key, "")
	admintest.WantStatus(t, res, http.StatusOK)

	b.Do("open the disable confirmation",
		chromedp.Navigate(s.URL+"/connections/"+s.SalesConn.ID+"/confirm/disable"),
		chromedp.WaitVisible(chromedp.CSS("#reason")),
	)
	b.Snap("confirm")
	b.Do("confirm without a reason", chromedp.Click(chromedp.CSS("#confirm")), chromedp.WaitVisible(chromedp.CSS("#reason-error")))
	b.Do("confirm with a reason",
		chromedp.SendKeys(chromedp.CSS("#reason"), "Mailbox compromised"),
		chromedp.Click(chromedp.CSS("#confirm")),
		chromedp.WaitVisible(chromedp.CSS(".flash-success")),
	)
	b.Snap("disabled")
	if loc := browsertest.Eval[string](b, `location.pathname`); loc != "/connections/"+s.SalesConn.ID {
		t.Fatalf("landed on %s", loc)
	}
	res = s.API(t, http.MethodGet, tokenPath(s.SalesConn.ID), key, "")
	admintest.WantStatus(t, res, http.StatusConflict)
	if code := problemCode(t, res); code != "connection_disabled" {
		t.Fatalf("token fetch after disable: %s", code)
	}
	b.Do("the list shows it disabled", chromedp.Navigate(s.URL+"/connections?status=disabled"), chromedp.WaitVisible(chromedp.CSS("#connections")))
	if got := rowNames(b); len(got) != 1 || got[0] != "Sales inbox" {
		t.Fatalf("disabled filter shows %v", got)
	}
}
