package connectweb_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brokerhq/broker/internal/browsertest"
	"github.com/brokerhq/broker/internal/connections/conntest"
	"github.com/brokerhq/broker/internal/store"
)

// TestConnectPageScreenshots writes the hosted connect page with a
// tenant's branding (name, logo, colour) at a laptop's and a phone's width
// to $BROKER_SCREENSHOTS: the form, a form refused with field errors, the
// reconnect page, and the expired and second-browser pages.
func TestConnectPageScreenshots(t *testing.T) {
	dir := os.Getenv("BROKER_SCREENSHOTS")
	if dir == "" {
		t.Skip("set BROKER_SCREENSHOTS to a directory to write screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := newServer(t)
	for _, width := range []int{1366, 390} {
		b := browsertest.New(t, browsertest.Options{Width: width, Height: 900, Timeout: 3 * time.Minute})
		shot := func(name string) {
			b.SaveScreenshot(filepath.Join(dir, name+"-"+itoa(width)+".png"))
		}
		form := s.create(t, map[string]any{"allowed_account_types": []string{"common", "tenant"}})
		b.Do("open", chromedp.Navigate(form.ConnectURL), chromedp.WaitVisible(chromedp.CSS("#submit")))
		shot("connect-form")
		b.Do("refused", browsertest.SetSelect("#account_type", "tenant"), browsertest.SetSelect("#name", ""),
			chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS("#error-summary")))
		shot("connect-form-errors")
		cc := s.create(t, map[string]any{"allowed_auth_types": []string{"client_credentials"}})
		b.Do("client credentials", chromedp.Navigate(cc.ConnectURL), chromedp.WaitVisible(chromedp.CSS("#client_id")))
		shot("connect-client-credentials")
		expired := s.create(t, map[string]any{"expires_in": 60})
		s.Clock.Advance(2 * time.Minute)
		b.Do("expired", chromedp.Navigate(expired.ConnectURL), chromedp.WaitVisible(chromedp.CSS("#connect-status")))
		shot("connect-expired")
		used := s.create(t, nil)
		other := browsertest.New(t, browsertest.Options{Timeout: 3 * time.Minute})
		other.Do("bind elsewhere", chromedp.Navigate(used.ConnectURL), chromedp.WaitVisible(chromedp.CSS("#submit")))
		b.Do("second browser", chromedp.Navigate(used.ConnectURL), chromedp.WaitVisible(chromedp.CSS("#connect-status")))
		shot("connect-other-browser")
		noReturn := s.create(t, map[string]any{"return_url": nil, "allowed_auth_types": []string{"client_credentials"}})
		d := s.Demo
		b.Do("finish without a return_url", chromedp.Navigate(noReturn.ConnectURL), chromedp.WaitVisible(chromedp.CSS("#client_id")),
			chromedp.SendKeys(chromedp.CSS("#ms_tenant"), d.Contoso.Domain),
			chromedp.SendKeys(chromedp.CSS("#user_principal"), d.Adele.UPN),
			chromedp.SendKeys(chromedp.CSS("#client_id"), d.DaemonApp.ClientID),
			chromedp.SendKeys(chromedp.CSS("#client_secret"), d.DaemonApp.Secret),
			chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS("#close-window")))
		shot("connect-done")
		rc := s.create(t, map[string]any{"end_user": map[string]any{"id": "u-ops"}, "reconnect_connection_id": s.opsConnection(t)})
		b.Do("reconnect", chromedp.Navigate(rc.ConnectURL), chromedp.WaitVisible(chromedp.CSS("#reconnect")))
		shot("connect-reconnect")
	}
	// The admin side: a connection's end user and metadata, Copy reconnect
	// link and the link page, and the list filtered by end user.
	id := s.opsConnection(t)
	for _, width := range []int{1366, 390} {
		b := browsertest.New(t, browsertest.Options{Width: width, Height: 900, Timeout: 3 * time.Minute})
		b.SignIn(s.URL, s.Admin.Email, conntest.Password)
		b.Do("connection page", chromedp.Navigate(s.URL+"/connections/"+id), chromedp.WaitVisible(chromedp.CSS("#end-user")))
		b.SaveScreenshot(filepath.Join(dir, "connection-end-user-"+strconv.Itoa(width)+".png"))
		b.Do("copy reconnect link", chromedp.Click(chromedp.CSS("#copy-reconnect-link")), chromedp.WaitVisible(chromedp.CSS("#connect-link")))
		b.SaveScreenshot(filepath.Join(dir, "reconnect-link-"+strconv.Itoa(width)+".png"))
		b.Do("list by end user", chromedp.Navigate(s.URL+"/connections?end_user=u-ops"), chromedp.WaitVisible(chromedp.CSS("#connections")))
		b.SaveScreenshot(filepath.Join(dir, "connections-end-user-"+strconv.Itoa(width)+".png"))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// opsConnection is a broken connection of end user u-ops, made once.
func (s *server) opsConnection(t *testing.T) string {
	t.Helper()
	c, err := s.Store.ConnectionByName(context.Background(), s.Tenant.ID, s.Sales.ID, "Ops shared inbox")
	if err == nil {
		return c.ID
	}
	c, err = s.Store.CreateConnection(context.Background(), store.NewConnection{TenantID: s.Tenant.ID, ProjectID: s.Sales.ID,
		Name: "Ops shared inbox", AccountType: "common", AuthType: "authorization_code", Status: "needs_reauth",
		EndUser:  store.EndUser{ID: "u-ops", Email: "ops@customer.test", DisplayName: "Ops team"},
		Metadata: map[string]string{"crm_account": "42", "plan": "pro"}})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}
