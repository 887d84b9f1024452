package connections

import (
	"bytes"
	"errors"
	"strings"
	"time"

	"github.com/brokerhq/broker/internal/oauth"
)

// A client-credentials connection's app can prove itself with a
// certificate instead of a secret: PEM (private key and certificate, pasted
// or uploaded) or a PKCS#12 file with its password. The private key is
// sealed like a secret and never shown again; the pages show the
// certificate's thumbprint and expiry.

// Credential kinds of the form.
const (
	CredentialSecret      = "secret"
	CredentialCertificate = "certificate"
)

// Form fields of the certificate.
const (
	FieldCredential   = "credential"
	FieldCertificate  = "certificate"
	FieldCertPassword = "certificate_password"
)

// maxCertInput bounds a pasted or uploaded certificate credential: a 4096-bit
// key and a certificate chain fit many times over.
const maxCertInput = 64 << 10

// validateCertificate parses the certificate inputs into f.Cert.
func (f *Form) validateCertificate(now time.Time) {
	pasted := strings.TrimSpace(f.CertPEM)
	file := f.CertFile
	var (
		c   *oauth.Certificate
		err error
	)
	switch {
	case len(file) == 0 && pasted == "":
		f.Errors.Add(FieldCertificate, "Upload the certificate file (PEM with its private key, or a .pfx/.p12), or paste the PEM private key and certificate.")
		return
	case len(file) > maxCertInput || len(pasted) > maxCertInput:
		f.Errors.Add(FieldCertificate, "This is far too large to be a certificate and its key.")
		return
	case len(file) > 0 && !bytes.Contains(file, []byte("-----BEGIN")):
		c, err = oauth.ParsePKCS12(file, f.CertPassword)
		if errors.Is(err, oauth.ErrPKCS12Password) {
			f.Errors.Add(FieldCertPassword, "This PKCS#12 file cannot be opened with this password. Check the password, or export the file again.")
			return
		}
	default: // PEM, uploaded or pasted (both together may be key + certificate)
		c, err = oauth.ParsePEM(file, []byte(pasted))
	}
	if err != nil {
		f.Errors.Add(FieldCertificate, "This certificate cannot be used: "+err.Error()+".")
		return
	}
	switch {
	case !now.Before(c.NotAfter()):
		f.Errors.Add(FieldCertificate, "This certificate expired on "+c.NotAfter().UTC().Format("2006-01-02")+". Create a new one and upload it to the app registration.")
	case now.Before(c.Cert.NotBefore):
		f.Errors.Add(FieldCertificate, "This certificate is not valid before "+c.Cert.NotBefore.UTC().Format("2006-01-02 15:04 UTC")+".")
	default:
		f.Cert = c
	}
}

// credentialKind is the form's credential kind, secret by default.
func (f *Form) credentialKind() string {
	if f.Credential == CredentialCertificate {
		return CredentialCertificate
	}
	return CredentialSecret
}

// storedCredential is what the store seals in the connection's credential
// column: the certificate with its key, or the secret's Value.
func (f *Form) storedCredential() string {
	if f.Cert != nil {
		return f.Cert.Encode()
	}
	return f.ClientSecret
}

// thumbprint is the certificate's SHA-256 thumbprint, "" for a secret.
func (f *Form) thumbprint() string {
	if f.Cert != nil {
		return f.Cert.Thumbprint()
	}
	return ""
}
