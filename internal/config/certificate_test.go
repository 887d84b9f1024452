package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/oauth/certtest"
)

// The broker's app certificate loads from PEM files or a PKCS#12 file; its
// expiry comes from the certificate; every mistake is reported at once,
// named by its variable, and never with key material.
func TestMicrosoftCertificate(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	cert := certtest.New(t, 0, "broker", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	other := certtest.New(t, 1, "other", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	expired := certtest.New(t, 0, "old", now.AddDate(-1, 0, 0), now.Add(-time.Hour))
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	certFile, keyFile := write("cert.pem", certtest.CertPEM(cert)), write("key.pem", certtest.KeyPEM(cert))
	bundle := write("bundle.pem", []byte(certtest.Bundle(cert)))
	otherKey := write("other-key.pem", certtest.KeyPEM(other))
	expiredBundle := write("expired.pem", []byte(certtest.Bundle(expired)))
	p12 := write("cert.pfx", certtest.PKCS12(t, cert, "s3cret-pfx"))
	passFile := write("pass.txt", []byte("s3cret-pfx\n"))
	load := func(kv ...string) (*Config, error) {
		m := map[string]string{"BROKER_MICROSOFT_CLIENT_ID": "x"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return Load(envOf(m), Need{Microsoft: true})
	}

	for name, kv := range map[string][]string{
		"PEM pair":              {"BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE", certFile, "BROKER_MICROSOFT_CLIENT_CERTIFICATE_KEY_FILE", keyFile},
		"PEM bundle":            {"BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE", bundle},
		"PKCS#12":               {"BROKER_MICROSOFT_CLIENT_PKCS12_FILE", p12, "BROKER_MICROSOFT_CLIENT_PKCS12_PASSWORD", "s3cret-pfx"},
		"PKCS#12 password file": {"BROKER_MICROSOFT_CLIENT_PKCS12_FILE", p12, "BROKER_MICROSOFT_CLIENT_PKCS12_PASSWORD_FILE", passFile},
	} {
		c, err := load(kv...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.MicrosoftCertificate == nil || c.MicrosoftCertificate.Thumbprint() != cert.Thumbprint() ||
			c.MicrosoftSecretExpiresAt == nil || !c.MicrosoftSecretExpiresAt.Equal(cert.NotAfter()) {
			t.Fatalf("%s: certificate %v, expiry %v", name, c.MicrosoftCertificate, c.MicrosoftSecretExpiresAt)
		}
	}

	for name, tc := range map[string]struct {
		kv   []string
		want []string
	}{
		"key of another certificate": {[]string{"BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE", certFile, "BROKER_MICROSOFT_CLIENT_CERTIFICATE_KEY_FILE", otherKey},
			[]string{"BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE / _KEY_FILE: the private key does not belong to the certificate"}},
		"no key": {[]string{"BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE", certFile}, []string{"no private key found"}},
		"wrong PKCS#12 password": {[]string{"BROKER_MICROSOFT_CLIENT_PKCS12_FILE", p12, "BROKER_MICROSOFT_CLIENT_PKCS12_PASSWORD", "nope"},
			[]string{"BROKER_MICROSOFT_CLIENT_PKCS12_FILE: the PKCS#12 file could not be opened"}},
		"expired": {[]string{"BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE", expiredBundle}, []string{"expired on"}},
		"secret and certificate": {[]string{"BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE", bundle, "BROKER_MICROSOFT_CLIENT_SECRET", "y"},
			[]string{"BROKER_MICROSOFT_CLIENT_SECRET and a certificate"}},
		"both kinds of file": {[]string{"BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE", certFile, "BROKER_MICROSOFT_CLIENT_PKCS12_FILE", p12},
			[]string{"BROKER_MICROSOFT_CLIENT_PKCS12_FILE and BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE are both set"}},
		"missing file": {[]string{"BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE", filepath.Join(dir, "nope.pem"), "BROKER_MICROSOFT_CLIENT_CERTIFICATE_KEY_FILE", keyFile},
			[]string{"BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE: cannot read"}},
		"key without certificate": {[]string{"BROKER_MICROSOFT_CLIENT_CERTIFICATE_KEY_FILE", keyFile},
			[]string{"BROKER_MICROSOFT_CLIENT_CERTIFICATE_KEY_FILE is set without"}},
		"neither secret nor certificate": {nil, []string{"BROKER_MICROSOFT_CLIENT_SECRET is missing", "BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE"}},
	} {
		_, err := load(tc.kv...)
		if err == nil {
			t.Fatalf("%s: accepted", name)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", name, err, w)
			}
		}
		if strings.Contains(err.Error(), "PRIVATE KEY-----") || strings.Contains(err.Error(), "s3cret-pfx") {
			t.Errorf("%s: key material or password in %q", name, err)
		}
	}

	// Several problems at once: all reported.
	_, err := load("BROKER_MICROSOFT_CLIENT_PKCS12_FILE", p12, "BROKER_MICROSOFT_CLIENT_PKCS12_PASSWORD", "nope",
		"BROKER_MICROSOFT_CLOUD", "mars")
	if err == nil || !strings.Contains(err.Error(), "PKCS#12") || !strings.Contains(err.Error(), "BROKER_MICROSOFT_CLOUD") {
		t.Fatalf("all at once: %v", err)
	}
}
