package securitytest

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/oauth/certtest"
)

// certificateConnection makes a client-credentials connection whose app
// proves itself with a certificate, uploaded as a PKCS#12 file through the
// New connection form, and returns its ID, the file's password and slices
// of the private key as PEM would carry them (for the secrets scan).
func certificateConnection(t *testing.T, b *broker, c *client) (id, password string, keyParts []string) {
	t.Helper()
	now := b.Sim.Now()
	cert := certtest.New(t, 0, "daemon", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	if err := b.Sim.AddCertificate(b.Demo.DaemonApp.ClientID, certtest.CertPEM(cert)); err != nil {
		t.Fatal(err)
	}
	password = "pfx-password-for-the-scan"
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"name": "Certificate probe", "project": b.projectID(t, "Sales"), "account_type": "tenant",
		"ms_tenant": b.Demo.Contoso.ID, "auth_type": "client_credentials", "user_principal": b.Demo.Adele.UPN,
		"client_id": b.Demo.DaemonApp.ClientID, "credential": "certificate", "certificate_password": password, "scopes_shown": "1"} {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("certificate_file", "daemon.pfx")
	_, _ = fw.Write(certtest.PKCS12(t, cert, password))
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, c.url("/connections"), &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res := c.do(req)
	wantStatus(t, res, http.StatusSeeOther)
	id = strings.TrimPrefix(res.Header.Get("Location"), "/connections/")
	if page := c.get("/connections/" + id).Body; !strings.Contains(page, cert.Thumbprint()) {
		t.Fatalf("the connection page does not show the thumbprint %s", cert.Thumbprint())
	}
	der, _ := x509.MarshalPKCS8PrivateKey(cert.Key)
	pkcs8 := base64.StdEncoding.EncodeToString(der)
	pkcs1 := base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PrivateKey(cert.Key))
	return id, password, []string{pkcs8[64:128], pkcs8[700:764], pkcs1[64:128], pkcs1[700:764]}
}
