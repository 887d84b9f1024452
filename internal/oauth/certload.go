package oauth

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"software.sslmate.com/src/go-pkcs12"
)

// Errors a person can act on when loading a certificate credential. Their
// text never includes key material.
var (
	ErrNoPrivateKey   = errors.New("no private key found (expected a PEM block such as BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY)")
	ErrNoCertificate  = errors.New("no certificate found (expected a PEM block BEGIN CERTIFICATE)")
	ErrNotRSA         = errors.New("the private key is not an RSA key: Microsoft's certificate credentials use RSA (RS256 or PS256)")
	ErrKeyMismatch    = errors.New("the private key does not belong to the certificate")
	ErrPKCS12Password = errors.New("the PKCS#12 file could not be opened: wrong password, or not a PKCS#12 (.pfx/.p12) file")
)

// ParsePEM reads a certificate credential from PEM: the private key (PKCS#8
// or PKCS#1) and the certificate, in one blob or two (key and cert may be
// the same file). The certificate is the first CERTIFICATE block.
func ParsePEM(keyPEM, certPEM []byte) (*Certificate, error) {
	var key *rsa.PrivateKey
	var cert *x509.Certificate
	for _, blob := range [][]byte{keyPEM, certPEM} {
		for rest := blob; ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			switch {
			case b.Type == "CERTIFICATE" && cert == nil:
				c, err := x509.ParseCertificate(b.Bytes)
				if err != nil {
					return nil, fmt.Errorf("the certificate cannot be read: %w", err)
				}
				cert = c
			case strings.HasSuffix(b.Type, "PRIVATE KEY") && key == nil:
				if strings.Contains(b.Type, "ENCRYPTED") {
					return nil, errors.New("the private key is encrypted: give it unencrypted, or use a PKCS#12 file with its password")
				}
				k, err := parseKey(b)
				if err != nil {
					return nil, err
				}
				key = k
			}
		}
	}
	return newCertificate(key, cert)
}

func parseKey(b *pem.Block) (*rsa.PrivateKey, error) {
	if k, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, errors.New("the private key cannot be read (expected PKCS#8 or PKCS#1)")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, ErrNotRSA
	}
	return rk, nil
}

// ParsePKCS12 reads a .pfx/.p12 file with its password.
func ParsePKCS12(data []byte, password string) (*Certificate, error) {
	k, cert, _, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		return nil, ErrPKCS12Password
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, ErrNotRSA
	}
	return newCertificate(rk, cert)
}

func newCertificate(key *rsa.PrivateKey, cert *x509.Certificate) (*Certificate, error) {
	switch {
	case key == nil:
		return nil, ErrNoPrivateKey
	case cert == nil:
		return nil, ErrNoCertificate
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, ErrNotRSA
	}
	if !pub.Equal(&key.PublicKey) {
		return nil, ErrKeyMismatch
	}
	if key.N.BitLen() < 2048 {
		return nil, errors.New("the RSA key is shorter than 2048 bits")
	}
	return &Certificate{Key: key, Cert: cert}, nil
}

// storedCertPrefix marks a stored credential that is a certificate rather
// than a client secret's Value (which never starts with "-----").
const storedCertPrefix = "-----BEGIN PRIVATE KEY-----"

// Encode is the stored form of a certificate credential: the PKCS#8 key and
// the certificate as PEM. Callers seal it (internal/secrets) before it is
// written anywhere.
func (c *Certificate) Encode() string {
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil { // an *rsa.PrivateKey always marshals
		panic(err)
	}
	var buf bytes.Buffer
	_ = pem.Encode(&buf, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})
	return buf.String()
}

// StoredCredential turns a stored app credential (a client secret's Value,
// or Certificate.Encode) back into a Credential.
func StoredCredential(stored string) (Credential, error) {
	if strings.HasPrefix(stored, storedCertPrefix) {
		c, err := ParsePEM([]byte(stored), nil)
		if err != nil {
			return nil, fmt.Errorf("oauth: stored certificate: %w", err)
		}
		return c, nil
	}
	if stored == "" {
		return nil, errors.New("oauth: no credential stored")
	}
	return ClientSecret(stored), nil
}

// IsStoredCertificate reports whether a stored credential is a certificate.
func IsStoredCertificate(stored string) bool { return strings.HasPrefix(stored, storedCertPrefix) }
