package connections

import (
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/brokerhq/broker/internal/oauth"
)

// Form is the New connection form as submitted. Validate trims and checks
// it, filling Errors; ClientSecret is never rendered back.
type Form struct {
	Name          string
	ProjectID     string
	AccountType   AccountType
	MSTenant      string // Tenant ID/Domain: Tenant-specific only
	AuthType      AuthType
	Scopes        []string // ticked delegated scopes: authorization code only
	UserPrincipal string   // client credentials: the User ID (UPN)
	ClientID      string   // client credentials: the customer's app
	ClientSecret  string   // client credentials: write-only
	SecretExpires string   // client credentials, optional: YYYY-MM-DD from the Azure portal
	// Client credentials by certificate (Credential "certificate"): PEM
	// pasted or uploaded (key and certificate), or a PKCS#12 file with its
	// password. All write-only; Cert is what they parse to.
	Credential   string // "secret" (default) or "certificate"
	CertPEM      string
	CertFile     []byte
	CertPassword string
	Cert         *oauth.Certificate

	// App is the app registration to sign in with (authorization code):
	// "" the project's default, AppBroker the broker's own, or the ID of
	// one of the tenant's app registrations (apps.go).
	App string

	Errors  FieldErrors
	TakenBy string // the connection that already has Name, to link to

	appID string // App resolved: "" the broker's
}

// Field names, shared by the form's inputs and its errors.
const (
	FieldName          = "name"
	FieldProject       = "project"
	FieldAccountType   = "account_type"
	FieldMSTenant      = "ms_tenant"
	FieldAuthType      = "auth_type"
	FieldScopes        = "scopes"
	FieldUserPrincipal = "user_principal"
	FieldClientID      = "client_id"
	FieldClientSecret  = "client_secret"
	FieldSecretExpires = "secret_expires"
	FieldForm          = "form" // about the whole form, shown at its top
)

// FieldErrors maps a field to the one message shown next to it.
type FieldErrors map[string]string

// Add records msg for field unless the field already has a message.
func (e *FieldErrors) Add(field, msg string) {
	if *e == nil {
		*e = FieldErrors{}
	}
	if _, ok := (*e)[field]; !ok {
		(*e)[field] = msg
	}
}

// NewForm is the form as it first opens: Common, authorization code, the
// default scopes, the first project.
func NewForm(projects []Project) *Form {
	f := &Form{AccountType: AccountCommon, AuthType: AuthCode, Scopes: DefaultScopes()}
	if len(projects) > 0 {
		f.ProjectID = projects[0].ID
	}
	return f
}

// Valid reports whether Validate found nothing wrong.
func (f *Form) Valid() bool { return len(f.Errors) == 0 }

// Clear drops what a re-rendered form must not show again.
func (f *Form) Clear() {
	f.ClientSecret, f.CertPEM, f.CertFile, f.CertPassword, f.Cert = "", "", nil, "", nil
}

var (
	domainRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	upnRE    = regexp.MustCompile(`^[^\s@]+@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
)

// Validate normalizes the form and records every problem at once. projects
// are those the user may use; now dates the secret's expiry.
func (f *Form) Validate(projects []Project, now time.Time) {
	f.Errors = nil
	f.Name = strings.TrimSpace(f.Name)
	switch n := utf8.RuneCountInString(f.Name); {
	case n == 0:
		f.Errors.Add(FieldName, "Enter a name for the connection.")
	case n > 100:
		f.Errors.Add(FieldName, "Use at most 100 characters.")
	case strings.IndexFunc(f.Name, unicode.IsControl) >= 0:
		f.Errors.Add(FieldName, "Use letters, digits, spaces and punctuation only.")
	}
	if !slices.ContainsFunc(projects, func(p Project) bool { return p.ID == f.ProjectID }) {
		f.Errors.Add(FieldProject, "Choose a project you may use.")
	}
	if !f.AccountType.Valid() {
		f.Errors.Add(FieldAccountType, "Choose an account type.")
	}
	f.MSTenant = strings.ToLower(strings.TrimSpace(f.MSTenant))
	if f.AccountType == AccountTenant {
		f.validateTenant()
	} else {
		f.MSTenant = ""
	}
	switch f.AuthType {
	case AuthCode:
		f.validateScopes()
		f.UserPrincipal, f.ClientID, f.ClientSecret, f.SecretExpires = "", "", "", ""
	case AuthClientCredentials:
		if f.AccountType.Valid() && f.AccountType != AccountTenant {
			f.Errors.Add(FieldAuthType, "Client credentials works only with the Tenant-specific account type. "+
				"Choose Tenant-specific above, or Authorization code grant.")
		}
		f.validateClientCredentials(now)
		f.Scopes = nil
	default:
		f.Errors.Add(FieldAuthType, "Choose an authentication type.")
	}
}

func (f *Form) validateTenant() {
	switch t := f.MSTenant; {
	case t == "":
		f.Errors.Add(FieldMSTenant, "Enter the Directory (tenant) ID or a verified domain of the organization.")
	case t == "common" || t == "organizations" || t == "consumers":
		f.Errors.Add(FieldMSTenant, "“"+t+"” is not a tenant. Enter the organization's tenant ID or domain, "+
			"or choose the matching account type instead.")
	case strings.Count(t, "-") == 4 && !oauth.IsGUID(t):
		f.Errors.Add(FieldMSTenant, "This is not a valid tenant ID. It looks like 00000000-0000-0000-0000-000000000000.")
	case !oauth.IsGUID(t) && (len(t) > 253 || !domainRE.MatchString(t)):
		f.Errors.Add(FieldMSTenant, "Enter a tenant ID (a GUID) or a domain name such as contoso.onmicrosoft.com.")
	}
}

func (f *Form) validateScopes() {
	var ticked []string
	for _, s := range f.Scopes {
		c := canonicalScope(strings.TrimSpace(s))
		if c == "" {
			f.Errors.Add(FieldScopes, "Choose permissions from the list.")
			continue
		}
		if !slices.Contains(ticked, c) {
			ticked = append(ticked, c)
		}
	}
	f.Scopes = ticked
}

func (f *Form) validateClientCredentials(now time.Time) {
	f.UserPrincipal = strings.TrimSpace(f.UserPrincipal)
	f.ClientID = strings.ToLower(strings.TrimSpace(f.ClientID))
	f.ClientSecret = strings.TrimSpace(f.ClientSecret)
	f.SecretExpires = strings.TrimSpace(f.SecretExpires)
	switch {
	case f.UserPrincipal == "":
		f.Errors.Add(FieldUserPrincipal, "Enter the user principal name of the mailbox, e.g. adele@contoso.com.")
	case len(f.UserPrincipal) > 320 || !upnRE.MatchString(strings.ToLower(f.UserPrincipal)):
		f.Errors.Add(FieldUserPrincipal, "A user principal name looks like adele@contoso.com.")
	}
	switch {
	case f.ClientID == "":
		f.Errors.Add(FieldClientID, "Enter the Application (client) ID of your app registration.")
	case !oauth.IsGUID(f.ClientID):
		f.Errors.Add(FieldClientID, "The Application (client) ID is a GUID like 00000000-0000-0000-0000-000000000000.")
	}
	if f.credentialKind() == CredentialCertificate {
		f.validateCertificate(now)
		return
	}
	switch {
	case f.ClientSecret == "":
		f.Errors.Add(FieldClientSecret, "Enter the client secret's Value.")
	case oauth.IsGUID(f.ClientSecret):
		f.Errors.Add(FieldClientSecret, "This looks like the Secret ID. Copy the Value column of the secret instead.")
	case len(f.ClientSecret) > 1024 || strings.IndexFunc(f.ClientSecret, unicode.IsSpace) >= 0:
		f.Errors.Add(FieldClientSecret, "This is not a client secret value: it has spaces or is far too long.")
	}
	if f.SecretExpires != "" {
		d, err := time.Parse(time.DateOnly, f.SecretExpires)
		switch {
		case err != nil:
			f.Errors.Add(FieldSecretExpires, "Enter the date as YYYY-MM-DD, or leave it empty.")
		case !d.AddDate(0, 0, 1).After(now):
			f.Errors.Add(FieldSecretExpires, "This secret has already expired. Create a new one in the Azure portal.")
		}
	}
}

// credential is what the form proves the app with: its certificate when
// one was given, else its secret.
func (f *Form) credential() oauth.Credential {
	if f.Cert != nil {
		return f.Cert
	}
	return oauth.ClientSecret(f.ClientSecret)
}

// secretExpiry is the validated expiry as the end of that day (UTC), or
// nil; a certificate's own expiry.
func (f *Form) secretExpiry() *time.Time {
	if f.Cert != nil {
		t := f.Cert.NotAfter()
		return &t
	}
	d, err := time.Parse(time.DateOnly, f.SecretExpires)
	if err != nil {
		return nil
	}
	end := d.AddDate(0, 0, 1).Add(-time.Second)
	return &end
}
