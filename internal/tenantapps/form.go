package tenantapps

import (
	"bytes"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
)

// Form is the Add app registration form, and (Credential fields only) the
// Rotate credential form. Secrets are write-only: Clear drops them.
type Form struct {
	DisplayName   string
	ClientID      string
	HomeTenantID  string
	Audience      string
	Credential    string // "secret" (default) or "certificate"
	ClientSecret  string
	SecretExpires string // optional YYYY-MM-DD from the portal
	CertPEM       string
	CertFile      []byte
	CertPassword  string

	cert   *oauth.Certificate
	Errors map[string]string
}

// Field names, shared by the inputs and their errors.
const (
	FieldDisplayName  = "display_name"
	FieldClientID     = "client_id"
	FieldHomeTenant   = "home_tenant_id"
	FieldAudience     = "audience"
	FieldSecret       = "client_secret"
	FieldExpires      = "secret_expires"
	FieldCertificate  = "certificate"
	FieldCertPassword = "certificate_password"
	FieldForm         = "form" // the whole form: Microsoft's refusal
)

// Audiences offered, in the portal's words.
var Audiences = []struct{ Value, Label string }{
	{store.AudienceSingle, "Accounts in this organizational directory only (single tenant)"},
	{store.AudienceMultipleOrgs, "Accounts in any organizational directory (multitenant)"},
	{store.AudienceOrgsAndPersonal, "Accounts in any organizational directory and personal Microsoft accounts"},
}

func (f *Form) add(field, msg string) {
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	if _, ok := f.Errors[field]; !ok {
		f.Errors[field] = msg
	}
}

// Valid reports whether validation found nothing wrong.
func (f *Form) Valid() bool { return len(f.Errors) == 0 }

// Clear drops what a re-rendered form must never show again.
func (f *Form) Clear() {
	f.ClientSecret, f.CertPEM, f.CertFile, f.CertPassword, f.cert = "", "", nil, "", nil
}

// validate checks the whole Add form.
func (f *Form) validate(now time.Time) {
	f.DisplayName = strings.TrimSpace(f.DisplayName)
	switch {
	case utf8.RuneCountInString(f.DisplayName) > 100:
		f.add(FieldDisplayName, "Use at most 100 characters.")
	case strings.IndexFunc(f.DisplayName, unicode.IsControl) >= 0:
		f.add(FieldDisplayName, "Use letters, digits, spaces and punctuation only.")
	}
	f.ClientID = strings.ToLower(strings.TrimSpace(f.ClientID))
	switch {
	case f.ClientID == "":
		f.add(FieldClientID, "Enter the Application (client) ID from the app registration's Overview page.")
	case !oauth.IsGUID(f.ClientID):
		f.add(FieldClientID, "The Application (client) ID is a GUID like 00000000-0000-0000-0000-000000000000.")
	}
	f.HomeTenantID = strings.ToLower(strings.TrimSpace(f.HomeTenantID))
	switch {
	case f.HomeTenantID == "":
		f.add(FieldHomeTenant, "Enter the Directory (tenant) ID from the app registration's Overview page.")
	case !oauth.IsGUID(f.HomeTenantID):
		f.add(FieldHomeTenant, "The Directory (tenant) ID is a GUID like 00000000-0000-0000-0000-000000000000.")
	case f.HomeTenantID == f.ClientID:
		f.add(FieldHomeTenant, "This is the client ID again. Copy the Directory (tenant) ID, the line below it.")
	}
	known := false
	for _, a := range Audiences {
		known = known || a.Value == f.Audience
	}
	if !known {
		f.add(FieldAudience, "Choose the supported account types, as the app registration's Authentication page shows them.")
	}
	f.validateCredential(now)
}

// validateCredential checks the secret or parses the certificate.
func (f *Form) validateCredential(now time.Time) {
	if f.Credential == "certificate" {
		f.validateCertificate(now)
		return
	}
	f.Credential = "secret"
	f.ClientSecret = strings.TrimSpace(f.ClientSecret)
	switch s := f.ClientSecret; {
	case s == "":
		f.add(FieldSecret, "Enter the client secret's Value.")
	case oauth.IsGUID(s):
		f.add(FieldSecret, "This looks like the Secret ID. Copy the Value column of the secret instead.")
	case len(s) > 1024 || strings.IndexFunc(s, unicode.IsSpace) >= 0:
		f.add(FieldSecret, "This is not a client secret value: it has spaces or is far too long.")
	}
	f.SecretExpires = strings.TrimSpace(f.SecretExpires)
	if f.SecretExpires != "" {
		d, err := time.Parse(time.DateOnly, f.SecretExpires)
		switch {
		case err != nil:
			f.add(FieldExpires, "Enter the date as YYYY-MM-DD, or leave it empty.")
		case !d.AddDate(0, 0, 1).After(now):
			f.add(FieldExpires, "This secret has already expired. Create a new one in the Azure portal.")
		}
	}
}

// maxCertInput bounds a pasted or uploaded certificate credential.
const maxCertInput = 64 << 10

func (f *Form) validateCertificate(now time.Time) {
	pasted := strings.TrimSpace(f.CertPEM)
	var (
		c   *oauth.Certificate
		err error
	)
	switch {
	case len(f.CertFile) == 0 && pasted == "":
		f.add(FieldCertificate, "Upload the certificate file (PEM with its private key, or a .pfx/.p12), or paste the PEM private key and certificate.")
		return
	case len(f.CertFile) > maxCertInput || len(pasted) > maxCertInput:
		f.add(FieldCertificate, "This is far too large to be a certificate and its key.")
		return
	case len(f.CertFile) > 0 && !bytes.Contains(f.CertFile, []byte("-----BEGIN")):
		c, err = oauth.ParsePKCS12(f.CertFile, f.CertPassword)
		if errors.Is(err, oauth.ErrPKCS12Password) {
			f.add(FieldCertPassword, "This PKCS#12 file cannot be opened with this password. Check the password, or export the file again.")
			return
		}
	default:
		c, err = oauth.ParsePEM(f.CertFile, []byte(pasted))
	}
	switch {
	case err != nil:
		f.add(FieldCertificate, "This certificate cannot be used: "+err.Error()+".")
	case !now.Before(c.NotAfter()):
		f.add(FieldCertificate, "This certificate expired on "+c.NotAfter().UTC().Format("2006-01-02")+".")
	case now.Before(c.Cert.NotBefore):
		f.add(FieldCertificate, "This certificate is not valid before "+c.Cert.NotBefore.UTC().Format("2006-01-02 15:04 UTC")+".")
	default:
		f.cert = c
	}
}

// credential is the credential to authenticate with while verifying.
func (f *Form) credential() oauth.Credential {
	if f.cert != nil {
		return f.cert
	}
	return oauth.ClientSecret(f.ClientSecret)
}

// stored is what the store seals; thumbprint and expiry describe it.
func (f *Form) stored() (cred, thumbprint string, expires *time.Time) {
	if f.cert != nil {
		na := f.cert.NotAfter()
		return f.cert.Encode(), f.cert.Thumbprint(), &na
	}
	if d, err := time.Parse(time.DateOnly, f.SecretExpires); err == nil {
		return f.ClientSecret, "", &d
	}
	return f.ClientSecret, "", nil
}
