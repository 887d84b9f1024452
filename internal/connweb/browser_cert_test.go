package connweb_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brokerhq/broker/internal/browsertest"
	"github.com/brokerhq/broker/internal/connections/conntest"
	"github.com/brokerhq/broker/internal/oauth/certtest"
)

// A person makes a client-credentials connection with a PKCS#12 file in a
// real browser under the broker's CSP: choosing "A certificate" swaps the
// secret fields for the certificate ones, the file is uploaded with its
// password, and the connection page shows the thumbprint and expiry. With
// BROKER_SCREENSHOTS set, the form and the page are written there at a
// laptop's and a phone's width.
func TestBrowserClientCredentialsCertificate(t *testing.T) {
	for _, width := range []int{1366, 390} {
		t.Run(strconv.Itoa(width), func(t *testing.T) {
			t.Parallel()
			s := newServerAt(t, "localhost")
			b := browsertest.New(t, browsertest.Options{Timeout: 3 * time.Minute, Width: width, Height: 900})
			b.SignIn(s.URL, s.Admin.Email, conntest.Password)
			now := s.Clock.Now()
			cert := certtest.New(t, 0, "daemon", now.Add(-time.Hour), now.AddDate(0, 6, 0))
			if err := s.Sim.AddCertificate(s.Demo.DaemonApp.ClientID, certtest.CertPEM(cert)); err != nil {
				t.Fatal(err)
			}
			pfx := filepath.Join(t.TempDir(), "daemon.pfx")
			if err := os.WriteFile(pfx, certtest.PKCS12(t, cert, "pfx-password-1"), 0o600); err != nil {
				t.Fatal(err)
			}
			s.openForm(t, b, "Daemon by certificate")
			b.Do("fill in client credentials",
				browsertest.SetSelect("#account_type", "tenant"),
				chromedp.SendKeys(chromedp.CSS("#ms_tenant"), s.Demo.Contoso.ID),
				browsertest.SetSelect("#auth_type", "client_credentials"),
				chromedp.WaitVisible(chromedp.CSS("#client_id")),
				chromedp.SendKeys(chromedp.CSS("#user_principal"), s.Demo.Adele.UPN),
				chromedp.SendKeys(chromedp.CSS("#client_id"), s.Demo.DaemonApp.ClientID),
			)
			if hidden := browsertest.Eval[bool](b, `document.querySelector('#certificate_file').closest('[data-show-when]').hidden`); !hidden {
				t.Fatal("certificate fields shown while a client secret is chosen")
			}
			b.Do("choose a certificate",
				chromedp.Click(chromedp.CSS(`input[name="credential"][value="certificate"]`)),
				chromedp.WaitVisible(chromedp.CSS("#certificate_file")),
			)
			if hidden := browsertest.Eval[bool](b, `document.querySelector('#client_secret').closest('[data-show-when]').hidden && document.querySelector('#client_secret').disabled`); !hidden {
				t.Fatal("the client secret field is still shown and sent")
			}
			b.Do("upload the PKCS#12 file with a wrong password",
				chromedp.SetUploadFiles(chromedp.CSS("#certificate_file"), []string{pfx}),
				chromedp.SendKeys(chromedp.CSS("#certificate_password"), "not-the-password"),
			)
			if dir := os.Getenv("BROKER_SCREENSHOTS"); dir != "" {
				b.SaveScreenshot(filepath.Join(dir, "cert-form-"+strconv.Itoa(width)+".png"))
			}
			b.Do("submit", chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS("#certificate_password-error")))
			if got := b.Text("#certificate_password-error"); !strings.Contains(got, "password") {
				t.Fatalf("password error %q", got)
			}
			if dir := os.Getenv("BROKER_SCREENSHOTS"); dir != "" {
				b.SaveScreenshot(filepath.Join(dir, "cert-form-error-"+strconv.Itoa(width)+".png"))
			}
			if v := browsertest.Eval[bool](b, `document.querySelector('input[name="credential"][value="certificate"]').checked && !document.querySelector('#certificate_file').closest('[data-show-when]').hidden`); !v {
				t.Fatal("the certificate choice was not kept")
			}
			b.Do("upload again with the right password",
				chromedp.SetUploadFiles(chromedp.CSS("#certificate_file"), []string{pfx}),
				chromedp.SendKeys(chromedp.CSS("#certificate_password"), "pfx-password-1"),
				chromedp.Click(chromedp.CSS("#submit")),
				chromedp.WaitVisible(chromedp.CSS("#status")),
			)
			if got := b.Text("#status"); got != "Active" {
				t.Fatalf("status %q", got)
			}
			if got := b.Text("code.thumbprint"); got != cert.Thumbprint() {
				t.Fatalf("thumbprint %q, want %s", got, cert.Thumbprint())
			}
			if dir := os.Getenv("BROKER_SCREENSHOTS"); dir != "" {
				b.SaveScreenshot(filepath.Join(dir, "cert-connection-"+strconv.Itoa(width)+".png"))
			}
			conntest.AssertNoPlaintext(t, s.DBURL, "pfx-password-1", "not-the-password")
		})
	}
}
