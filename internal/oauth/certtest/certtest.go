// Package certtest makes self-signed RSA certificates for tests of
// certificate credentials, and writes them as PEM or PKCS#12.
package certtest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"sync"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/brokerhq/broker/internal/oauth"
)

// keys are generated once per test binary: 2048-bit RSA generation is slow
// on a shared machine, and tests need only a handful of distinct keys.
var (
	mu   sync.Mutex
	keys []*rsa.PrivateKey
)

func key(t testing.TB, i int) *rsa.PrivateKey {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	for len(keys) <= i {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	return keys[i]
}

// New is a self-signed certificate valid from notBefore to notAfter, with
// the n-th shared test key (different n, different key).
func New(t testing.TB, n int, cn string, notBefore, notAfter time.Time) *oauth.Certificate {
	t.Helper()
	k := key(t, n)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &oauth.Certificate{Key: k, Cert: c}
}

// CertPEM is the certificate alone, as uploaded to an app registration.
func CertPEM(c *oauth.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})
}

// KeyPEM is the private key as PKCS#1 ("BEGIN RSA PRIVATE KEY"), the form
// openssl's older commands write.
func KeyPEM(c *oauth.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(c.Key)})
}

// Bundle is key then certificate in one PEM text, as pasted into a form.
func Bundle(c *oauth.Certificate) string {
	var b bytes.Buffer
	b.Write(KeyPEM(c))
	b.Write(CertPEM(c))
	return b.String()
}

// PKCS12 is a .pfx of the key and certificate under password.
func PKCS12(t testing.TB, c *oauth.Certificate, password string) []byte {
	t.Helper()
	b, err := pkcs12.Modern.Encode(c.Key, c.Cert, nil, password)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
