package securitytest

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/oauth/certtest"
	"github.com/brokerhq/broker/internal/oauth/mssim"
)

// tenantAppClientID is the tenant's own app registration in the sim.
const tenantAppClientID = "7e7a7e7a-0000-4000-8000-00000000a990"

// tenantApp registers tenant A's own app registration through
// /settings/apps (a wrong secret first, then its client secret), rotates
// it to a certificate uploaded as PKCS#12, and returns what the scan looks
// for: the secrets tried and kept, the file's password and slices of the
// private key.
func tenantApp(t *testing.T, b *broker, c *client) map[string]string {
	t.Helper()
	now := b.Sim.Now()
	secret, wrong := "tenant~AppSecret.for-the-scan-1", "tenant~WrongSecret.for-the-scan"
	if err := b.Sim.RegisterApp(mssim.App{ClientID: tenantAppClientID, Name: "Tenant A's app", HomeTenant: b.Demo.Contoso.ID,
		Audience: mssim.AudienceMultipleOrgs, RedirectURIs: []string{b.URL + "/oauth/callback"},
		Secrets: []mssim.Secret{{Value: secret, Expires: now.AddDate(1, 0, 0)}}}); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"display_name": {"Tenant A's app"}, "client_id": {tenantAppClientID}, "home_tenant_id": {b.Demo.Contoso.ID},
		"audience": {"multiple_orgs"}, "credential": {"secret"}, "client_secret": {wrong}}
	res := c.post("/settings/apps", form)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(res.Body, "AADSTS7000215") {
		t.Fatalf("a wrong secret: %.300s", res.Body)
	}
	form.Set("client_secret", secret)
	wantStatus(t, c.post("/settings/apps", form), http.StatusSeeOther)
	apps, err := b.App.Store.AppRegistrations(context.Background(), b.A.TenantID)
	if err != nil || len(apps) != 1 {
		t.Fatalf("apps %+v %v", apps, err)
	}

	cert := certtest.New(t, 0, "tenant-app", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	if err := b.Sim.AddCertificate(tenantAppClientID, certtest.CertPEM(cert)); err != nil {
		t.Fatal(err)
	}
	password := "tenant-app-pfx-password"
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("credential", "certificate")
	_ = mw.WriteField("certificate_password", password)
	fw, _ := mw.CreateFormFile("certificate_file", "tenant-app.pfx")
	_, _ = fw.Write(certtest.PKCS12(t, cert, password))
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, c.url("/settings/apps/"+apps[0].ID+"/credential"), &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	wantStatus(t, c.do(req), http.StatusSeeOther)
	if page := c.get("/settings/apps").Body; !strings.Contains(page, cert.Thumbprint()) {
		t.Fatalf("the apps page does not show the thumbprint %s", cert.Thumbprint())
	}
	der, _ := x509.MarshalPKCS8PrivateKey(cert.Key)
	pkcs8 := base64.StdEncoding.EncodeToString(der)
	return map[string]string{"tenant app client secret": secret, "tenant app wrong secret": wrong,
		"tenant app PKCS#12 password": password, "tenant app key part a": pkcs8[64:128], "tenant app key part b": pkcs8[700:764]}
}
