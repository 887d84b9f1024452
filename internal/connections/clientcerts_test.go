package connections_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/connections/conntest"
	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/oauth/certtest"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tokens"
)

// keyMaterial is what must never be found in the database in plaintext:
// the private key's DER (as base64, the way PEM carries it) in slices long
// enough to be unmistakable.
func keyMaterial(t *testing.T, c *oauth.Certificate) []string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(der)
	pkcs1 := base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PrivateKey(c.Key))
	return []string{b64[100:160], b64[600:660], pkcs1[100:160], pkcs1[600:660]}
}

// A client-credentials connection whose app proves itself with a
// certificate, given as pasted PEM or as a PKCS#12 file with a password:
// checked at Microsoft before it is saved, stored sealed, shown by
// thumbprint and expiry, and refreshed with a fresh client assertion.
func TestClientCredentialsByCertificate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := e.Clock.Now()
	cert := certtest.New(t, 0, "daemon", now.Add(-time.Hour), now.AddDate(0, 0, 10))
	if err := e.Sim.AddCertificate(e.Demo.DaemonApp.ClientID, certtest.CertPEM(cert)); err != nil {
		t.Fatal(err)
	}
	const password = "pfx-pass-7f3a9c21"
	svc := tokens.New(e.Store, e.MS, tokens.Options{Now: e.Clock.Now, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(svc.Close)

	for name, give := range map[string]func(*connections.Form){
		"PEM pasted": func(f *connections.Form) { f.CertPEM = certtest.Bundle(cert) },
		"PKCS#12":    func(f *connections.Form) { f.CertFile, f.CertPassword = certtest.PKCS12(t, cert, password), password },
	} {
		t.Run(name, func(t *testing.T) {
			f := ccForm(e)
			f.Name, f.ClientSecret, f.SecretExpires, f.Credential = "Robot "+name, "", "", connections.CredentialCertificate
			give(f)
			out, err := e.Service.Submit(ctx, e.Actor(e.Admin, "b"), f)
			if err != nil {
				t.Fatalf("%v %v", err, f.Errors)
			}
			if f.CertPEM != "" || f.CertFile != nil || f.CertPassword != "" || f.Cert != nil {
				t.Fatal("the form kept the certificate or its password")
			}
			c, cr := conn(t, e, out.Connection.ID)
			if c.Status != "active" || c.ClientCertThumbprint != cert.Thumbprint() || c.ClientSecretExpiresAt == nil ||
				!c.ClientSecretExpiresAt.Equal(cert.NotAfter()) || !oauth.IsStoredCertificate(cr.ClientSecret) {
				t.Fatalf("connection %+v", c)
			}
			before := e.Sim.Count(mssim.EndpointToken, "client_credentials")
			if _, err := svc.Token(ctx, e.Tenant.ID, c.ID, tokens.Request{ForceRefresh: true}); err != nil {
				t.Fatalf("token by certificate: %v", err)
			}
			if e.Sim.Count(mssim.EndpointToken, "client_credentials") != before+1 {
				t.Fatal("the refresh did not reach Microsoft")
			}
			conntest.AssertNoPlaintext(t, e.DBURL, append(keyMaterial(t, cert), password)...)
		})
	}

	// The certificate expires within 14 days: the connection is flagged,
	// naming the certificate.
	c, _ := conn(t, e, firstByName(t, e, "Robot PEM pasted"))
	if _, err := svc.Token(ctx, e.Tenant.ID, c.ID, tokens.Request{ForceRefresh: true}); err != nil {
		t.Fatal(err)
	}
	if c, _ = conn(t, e, c.ID); c.Status != "secret_expiring" || !strings.Contains(c.StatusReason, "certificate") {
		t.Fatalf("expiring certificate: %s %q", c.Status, c.StatusReason)
	}
}

func firstByName(t *testing.T, e *conntest.Env, name string) string {
	t.Helper()
	list, err := e.Store.ListConnections(context.Background(), e.Tenant.ID, store.ListConnectionsFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		if c.Name == name {
			return c.ID
		}
	}
	t.Fatalf("no connection %q", name)
	return ""
}

// A certificate that cannot work is refused at the field to fix, and
// nothing is saved.
func TestClientCredentialsCertificateRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := e.Clock.Now()
	cert := certtest.New(t, 0, "daemon", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	other := certtest.New(t, 1, "other", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	expired := certtest.New(t, 0, "old", now.AddDate(-1, 0, 0), now.Add(-time.Hour))
	if err := e.Sim.AddCertificate(e.Demo.DaemonApp.ClientID, certtest.CertPEM(cert)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		give  func(*connections.Form)
		field string
		want  string
	}{
		{"nothing given", func(*connections.Form) {}, connections.FieldCertificate, "Upload the certificate"},
		{"not uploaded to the app", func(f *connections.Form) { f.CertPEM = certtest.Bundle(other) }, connections.FieldCertificate, "AADSTS700027"},
		{"key of another certificate", func(f *connections.Form) {
			f.CertPEM = string(certtest.KeyPEM(other)) + string(certtest.CertPEM(cert))
		}, connections.FieldCertificate, "does not belong"},
		{"certificate only", func(f *connections.Form) { f.CertFile = certtest.CertPEM(cert) }, connections.FieldCertificate, "no private key"},
		{"expired", func(f *connections.Form) { f.CertPEM = certtest.Bundle(expired) }, connections.FieldCertificate, "expired"},
		{"wrong PKCS#12 password", func(f *connections.Form) {
			f.CertFile, f.CertPassword = certtest.PKCS12(t, cert, "right-password"), "wrong-password"
		}, connections.FieldCertPassword, "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := ccForm(e)
			f.Name, f.ClientSecret, f.Credential = "Robot "+tt.name, "", connections.CredentialCertificate
			tt.give(f)
			_, err := e.Service.Submit(ctx, e.Actor(e.Admin, "b"), f)
			if err == nil || !strings.Contains(f.Errors[tt.field], tt.want) {
				t.Fatalf("err %v, errors %v; want %q at %s", err, f.Errors, tt.want, tt.field)
			}
			if strings.Contains(f.Errors[tt.field], "-----BEGIN") {
				t.Fatal("key material in the message")
			}
		})
	}
	list, err := e.Store.ListConnections(ctx, e.Tenant.ID, store.ListConnectionsFilter{})
	if err != nil || len(list) != 0 {
		t.Fatalf("saved: %d %v", len(list), err)
	}
}
