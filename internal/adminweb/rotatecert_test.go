package adminweb_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/admin/admintest"
	"github.com/brokerhq/broker/internal/connections/conntest"
	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/oauth/certtest"
)

// Rotation works for certificates as for secrets: a client-credentials
// connection moves from its secret to a certificate on the page (PEM), and
// on to a second certificate through the admin API (PKCS#12); each new
// credential is proved at Microsoft before it replaces the old one, and
// a certificate the app does not know changes nothing.
func TestRotateToCertificate(t *testing.T) {
	s := admintest.New(t)
	b := s.Browser(t).SignIn(s.Admin.Email)
	now := s.Clock.Now()
	first := certtest.New(t, 0, "first", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	second := certtest.New(t, 1, "second", now.Add(-time.Hour), now.AddDate(2, 0, 0))
	path := "/connections/" + s.AppConn.ID + "/rotate-secret"

	// Not yet uploaded to the app: refused, the old secret stays.
	res := b.Post(path, url.Values{"certificate_pem": {certtest.Bundle(first)}})
	admintest.WantStatus(t, res, http.StatusUnprocessableEntity)
	admintest.WantBody(t, res, "AADSTS700027", first.Thumbprint(), `id="certificate-error"`)
	admintest.WantNotInBody(t, res, keyChunks(first)...)
	if c, cr, _ := s.Conn(s.AppConn); cr.ClientSecret != s.Demo.DaemonApp.Secret || c.ClientCertThumbprint != "" {
		t.Fatal("a certificate that does not work replaced the secret")
	}

	if err := s.Sim.AddCertificate(s.Demo.DaemonApp.ClientID, certtest.CertPEM(first)); err != nil {
		t.Fatal(err)
	}
	res = b.Post(path, url.Values{"certificate_pem": {certtest.Bundle(first)}, "reason": {"no more secrets"}})
	admintest.WantRedirect(t, res, "/connections/"+s.AppConn.ID)
	c, cr, _ := s.Conn(s.AppConn)
	if c.ClientCertThumbprint != first.Thumbprint() || !oauth.IsStoredCertificate(cr.ClientSecret) ||
		!c.ClientSecretExpiresAt.Equal(first.NotAfter()) || c.Status != "active" {
		t.Fatalf("after rotation to a certificate: %+v", c)
	}
	page := b.Get("/connections/" + s.AppConn.ID)
	admintest.WantBody(t, page, first.Thumbprint(), "Private key stored encrypted")

	// The admin API, with a PKCS#12 file of the second certificate.
	if err := s.Sim.AddCertificate(s.Demo.DaemonApp.ClientID, certtest.CertPEM(second)); err != nil {
		t.Fatal(err)
	}
	key := s.APIKey(t, s.Tenant.ID, "ops", true)
	body, _ := json.Marshal(map[string]any{"certificate_pkcs12": base64.StdEncoding.EncodeToString(certtest.PKCS12(t, second, "wrong")),
		"certificate_password": "not-it"})
	res = s.API(t, http.MethodPost, "/api/v1/admin/connections/"+s.AppConn.ID+"/rotate-secret", key, string(body))
	admintest.WantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(res.Body, "certificate_password") {
		t.Fatalf("problem does not name the field: %s", res.Body)
	}
	body, _ = json.Marshal(map[string]any{"certificate_pkcs12": certtest.PKCS12(t, second, "p12-secret-pass"),
		"certificate_password": "p12-secret-pass", "reason": "yearly"})
	res = s.API(t, http.MethodPost, "/api/v1/admin/connections/"+s.AppConn.ID+"/rotate-secret", key, string(body))
	admintest.WantStatus(t, res, http.StatusOK)
	if c, _, _ = s.Conn(s.AppConn); c.ClientCertThumbprint != second.Thumbprint() || !strings.Contains(res.Body, second.Thumbprint()) {
		t.Fatalf("after API rotation: %s; %s", c.ClientCertThumbprint, res.Body)
	}
	tok := s.APIKey(t, s.Tenant.ID, "reader", false)
	admintest.WantStatus(t, s.API(t, http.MethodGet, "/api/v1/connections/"+s.AppConn.ID+"/token?force_refresh=true", tok, ""), http.StatusOK)

	conntest.AssertNoPlaintext(t, s.DBURL, append(keyChunks(first), append(keyChunks(second), "p12-secret-pass")...)...)
	if logs := s.Logs.String(); strings.Contains(logs, "p12-secret-pass") || strings.Contains(logs, keyChunks(first)[0]) || strings.Contains(logs, keyChunks(second)[0]) {
		t.Fatal("key material or a password is in the log")
	}
}

func keyChunks(c *oauth.Certificate) []string {
	pem := certtest.Bundle(c)
	lines := strings.Split(pem, "\n")
	return []string{lines[3], lines[10]} // inside the key block: base64 of the key
}
