package admin

import (
	"bytes"
	"errors"
	"strings"
	"time"

	"github.com/brokerhq/broker/internal/oauth"
)

// newCred is the credential a rotation proves and then stores: a client
// secret, or a certificate with its private key.
type newCred struct {
	cred       oauth.Credential
	stored     string     // what the store seals
	expires    *time.Time // the secret's given expiry, or the certificate's
	thumbprint string     // a certificate's SHA-256 thumbprint, "" for a secret
	what       string     // "Client secret" or "Certificate", for messages
}

// newCredential reads the rotation's input: a certificate when one was
// given (a connection can move from a secret to a certificate this way),
// else a secret. Bad input is CodeInvalid at its field; nothing is shown
// back, and no message quotes key material.
func newCredential(in Input, now time.Time) (*newCred, *Error) {
	pem := strings.TrimSpace(in.CertPEM)
	if pem == "" && len(in.CertPKCS12) == 0 {
		secret := strings.TrimSpace(in.ClientSecret)
		if secret == "" {
			return nil, &Error{Code: CodeInvalid, Field: "client_secret", Message: "Enter the new secret's Value from the Azure portal, or give a certificate."}
		}
		if len(secret) > 1000 {
			return nil, &Error{Code: CodeInvalid, Field: "client_secret", Message: "That is too long to be a client secret."}
		}
		expires, err := ParseExpiry(in.SecretExpires, now)
		if err != nil {
			return nil, &Error{Code: CodeInvalid, Field: "secret_expires", Message: err.Error()}
		}
		return &newCred{cred: oauth.ClientSecret(secret), stored: secret, expires: expires, what: "Client secret"}, nil
	}
	if strings.TrimSpace(in.ClientSecret) != "" {
		return nil, &Error{Code: CodeInvalid, Field: "client_secret", Message: "Give a new client secret or a certificate, not both."}
	}
	if len(pem) > 64<<10 || len(in.CertPKCS12) > 64<<10 {
		return nil, &Error{Code: CodeInvalid, Field: "certificate", Message: "That is far too large to be a certificate and its key."}
	}
	var (
		c   *oauth.Certificate
		err error
	)
	if len(in.CertPKCS12) > 0 && !bytes.Contains(in.CertPKCS12, []byte("-----BEGIN")) {
		c, err = oauth.ParsePKCS12(in.CertPKCS12, in.CertPassword)
		if errors.Is(err, oauth.ErrPKCS12Password) {
			return nil, &Error{Code: CodeInvalid, Field: "certificate_password", Message: "The PKCS#12 file cannot be opened with this password."}
		}
	} else {
		c, err = oauth.ParsePEM(in.CertPKCS12, []byte(pem))
	}
	if err != nil {
		return nil, &Error{Code: CodeInvalid, Field: "certificate", Message: "This certificate cannot be used: " + err.Error() + "."}
	}
	if !now.Before(c.NotAfter()) {
		return nil, &Error{Code: CodeInvalid, Field: "certificate", Message: "This certificate expired on " + c.NotAfter().UTC().Format("2006-01-02") + "."}
	}
	exp := c.NotAfter()
	return &newCred{cred: c, stored: c.Encode(), expires: &exp, thumbprint: c.Thumbprint(), what: "Certificate"}, nil
}

// refused words a refusal for a certificate: its field, and the codes
// Microsoft answers for a certificate it does not know.
func (n *newCred) refused(e *Error, err error) *Error {
	if n.thumbprint == "" {
		return e
	}
	if e.Field == "client_secret" {
		e.Field = "certificate"
	}
	var oe *oauth.Error
	if errors.As(err, &oe) && (oe.AADSTS() == "AADSTS700027" || oe.AADSTS() == "AADSTS50012") {
		e.Message = "Microsoft does not accept this certificate for the app (" + oe.AADSTS() + "). Upload its public certificate " +
			"(thumbprint " + n.thumbprint + ") under Certificates & secrets › Certificates, then try again. The old credential is still in use."
	}
	e.Message = strings.ReplaceAll(e.Message, "this secret", "this certificate")
	e.Message = strings.ReplaceAll(e.Message, "The secret works", "The certificate works")
	e.Message = strings.ReplaceAll(e.Message, "The old secret", "The old credential")
	return e
}
