package connectweb_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brokerhq/broker/internal/browsertest"
	"github.com/brokerhq/broker/internal/connections/conntest"
)

// TestConnectSettingsScreenshots writes the tenant admin's Connect links
// page, as saved and refused, at a laptop's and a phone's width to
// $BROKER_SCREENSHOTS.
func TestConnectSettingsScreenshots(t *testing.T) {
	dir := os.Getenv("BROKER_SCREENSHOTS")
	if dir == "" {
		t.Skip("set BROKER_SCREENSHOTS to a directory to write screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := newServer(t)
	for _, width := range []int{1366, 390} {
		b := browsertest.New(t, browsertest.Options{Width: width, Height: 1000, Timeout: 3 * time.Minute})
		b.SignIn(s.URL, s.Admin.Email, conntest.Password)
		shot := func(name string) { b.SaveScreenshot(filepath.Join(dir, name+"-"+strconv.Itoa(width)+".png")) }
		b.Do("open", chromedp.Navigate(s.URL+"/settings/connect"), chromedp.WaitVisible(chromedp.CSS("#save-connect-settings")))
		b.Do("save", chromedp.Click(chromedp.CSS("#save-connect-settings")), chromedp.WaitVisible(chromedp.CSS(".flash")))
		shot("connect-settings")
		b.Do("refused", chromedp.SetValue(chromedp.CSS("#color"), "teal"),
			chromedp.SetValue(chromedp.CSS("#allowed_return_origins"), "https://app.acme.example/callback"),
			chromedp.Click(chromedp.CSS("#save-connect-settings")), chromedp.WaitVisible(chromedp.CSS("#form-error")))
		shot("connect-settings-errors")
	}
}
