package connections

import (
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	testNow      = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	testProjects = []Project{{ID: "p1", Name: "Sales"}, {ID: "p2", Name: "Support"}}
)

func validForm() Form {
	return Form{Name: "  Sales inbox ", ProjectID: "p1", AccountType: AccountCommon, AuthType: AuthCode, Scopes: DefaultScopes()}
}

func validCC() Form {
	return Form{Name: "Robot", ProjectID: "p2", AccountType: AccountTenant, MSTenant: "Contoso.onmicrosoft.com",
		AuthType: AuthClientCredentials, UserPrincipal: "adele@contoso.onmicrosoft.com",
		ClientID: "6731DE76-14A6-49AE-97BC-6EBA6914391E", ClientSecret: "  abc8Q~secret-value  ", SecretExpires: "2026-09-30"}
}

func TestFormValidation(t *testing.T) {
	long := strings.Repeat("é", 101)
	tests := []struct {
		name   string
		edit   func(*Form)
		base   func() Form
		errors []string // fields with errors, sorted
	}{
		{"valid authorization code", func(*Form) {}, validForm, nil},
		{"valid client credentials", func(*Form) {}, validCC, nil},
		{"empty name", func(f *Form) { f.Name = "   " }, validForm, []string{FieldName}},
		{"name of 100 runes", func(f *Form) { f.Name = long[:200] }, validForm, nil},
		{"name too long", func(f *Form) { f.Name = long }, validForm, []string{FieldName}},
		{"name with control character", func(f *Form) { f.Name = "a\x07b" }, validForm, []string{FieldName}},
		{"project not allowed", func(f *Form) { f.ProjectID = "p9" }, validForm, []string{FieldProject}},
		{"unknown account type", func(f *Form) { f.AccountType = "everyone" }, validForm, []string{FieldAccountType}},
		{"tenant missing", func(f *Form) { f.AccountType = AccountTenant }, validForm, []string{FieldMSTenant}},
		{"tenant GUID", func(f *Form) { f.AccountType, f.MSTenant = AccountTenant, "72f988bf-86f1-41af-91ab-2d7cd011db47" }, validForm, nil},
		{"tenant broken GUID", func(f *Form) { f.AccountType, f.MSTenant = AccountTenant, "72f988bf-86f1-41af-91ab-2d7cd011db4" }, validForm, []string{FieldMSTenant}},
		{"tenant not a domain", func(f *Form) { f.AccountType, f.MSTenant = AccountTenant, "contoso" }, validForm, []string{FieldMSTenant}},
		{"tenant with path", func(f *Form) { f.AccountType, f.MSTenant = AccountTenant, "contoso.com/../common" }, validForm, []string{FieldMSTenant}},
		{"tenant named common", func(f *Form) { f.AccountType, f.MSTenant = AccountTenant, "Common" }, validForm, []string{FieldMSTenant}},
		{"unknown scope", func(f *Form) { f.Scopes = []string{"Mail.Send", "Directory.ReadWrite.All"} }, validForm, []string{FieldScopes}},
		{"no scopes ticked", func(f *Form) { f.Scopes = nil }, validForm, nil},
		{"unknown auth type", func(f *Form) { f.AuthType = "password" }, validForm, []string{FieldAuthType}},
		{"client credentials needs tenant-specific", func(f *Form) { f.AccountType, f.MSTenant = AccountOrganizations, "" }, validCC, []string{FieldAuthType}},
		{"client credentials everything missing", func(f *Form) {
			f.UserPrincipal, f.ClientID, f.ClientSecret, f.SecretExpires = "", "", "", ""
		}, validCC, []string{FieldClientID, FieldClientSecret, FieldUserPrincipal}},
		{"bad UPN", func(f *Form) { f.UserPrincipal = "adele" }, validCC, []string{FieldUserPrincipal}},
		{"client ID not a GUID", func(f *Form) { f.ClientID = "my-app" }, validCC, []string{FieldClientID}},
		{"secret ID instead of value", func(f *Form) { f.ClientSecret = "0b7e3a5c-1111-4222-8333-944455556666" }, validCC, []string{FieldClientSecret}},
		{"secret with spaces", func(f *Form) { f.ClientSecret = "two words" }, validCC, []string{FieldClientSecret}},
		{"expiry not a date", func(f *Form) { f.SecretExpires = "30/09/2026" }, validCC, []string{FieldSecretExpires}},
		{"expiry in the past", func(f *Form) { f.SecretExpires = "2026-02-28" }, validCC, []string{FieldSecretExpires}},
		{"expiry today is still valid", func(f *Form) { f.SecretExpires = "2026-03-01" }, validCC, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.base()
			tt.edit(&f)
			f.Validate(testProjects, testNow)
			var got []string
			for k := range f.Errors {
				got = append(got, k)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.errors) {
				t.Fatalf("errors on %v, want %v: %v", got, tt.errors, f.Errors)
			}
		})
	}
}

func TestFormNormalizes(t *testing.T) {
	f := validCC()
	f.Validate(testProjects, testNow)
	if f.MSTenant != "contoso.onmicrosoft.com" || f.ClientID != "6731de76-14a6-49ae-97bc-6eba6914391e" ||
		f.ClientSecret != "abc8Q~secret-value" || f.Scopes != nil {
		t.Fatalf("not normalized: %+v", f)
	}
	if exp := f.secretExpiry(); exp == nil || !exp.Equal(time.Date(2026, 9, 30, 23, 59, 59, 0, time.UTC)) {
		t.Fatalf("expiry %v", exp)
	}
	g := validForm()
	g.MSTenant = "left over from a switch"
	g.Scopes = []string{"mail.send", "Mail.Send", "CONTACTS.READ"}
	g.Validate(testProjects, testNow)
	if g.Name != "Sales inbox" || g.MSTenant != "" || !slices.Equal(g.Scopes, []string{"Mail.Send", "Contacts.Read"}) {
		t.Fatalf("not normalized: %+v", g)
	}
	g.ClientSecret = "x"
	g.Clear()
	if g.ClientSecret != "" {
		t.Fatal("Clear kept the secret")
	}
}

func TestScopes(t *testing.T) {
	req := requestedScopes([]string{"Calendars.ReadWrite", "Mail.Send"})
	if want := []string{"Mail.Send", "Calendars.ReadWrite", "User.Read", "offline_access"}; !slices.Equal(req, want) {
		t.Fatalf("requested %v, want %v", req, want)
	}
	if min := requestedScopes(nil); !slices.Equal(min, []string{"User.Read", "offline_access"}) {
		t.Fatalf("minimum %v", min)
	}
	if a := authorizeScopes(req); !slices.Contains(a, "openid") || !slices.Contains(a, "profile") || slices.Contains(req, "openid") {
		t.Fatalf("authorize scopes %v", a)
	}
	fromToken := []string{"https://graph.microsoft.com/User.Read", "https://graph.microsoft.com/mail.send", "openid", "profile", "offline_access"}
	got := grantedScopes(req, fromToken, true)
	if want := []string{"Mail.Send", "User.Read", "offline_access"}; !slices.Equal(got, want) {
		t.Fatalf("granted %v, want %v", got, want)
	}
	if m := MissingScopes(req, got); !slices.Equal(m, []string{"Calendars.ReadWrite"}) {
		t.Fatalf("missing %v", m)
	}
	if got := grantedScopes(req, nil, true); !slices.Equal(got, req) {
		t.Fatalf("no scope in the answer means all granted, got %v", got)
	}
	if got := grantedScopes(req, []string{"User.Read"}, false); slices.Contains(got, "offline_access") {
		t.Fatalf("offline_access without a refresh token: %v", got)
	}
}

func TestAuthority(t *testing.T) {
	for _, tt := range []struct {
		at           AccountType
		tenant, want string
		admin        string
	}{
		{AccountCommon, "", "common", ""},
		{AccountConsumers, "", "consumers", ""},
		{AccountOrganizations, "", "organizations", "organizations"},
		{AccountTenant, "Contoso.com", "contoso.com", "contoso.com"},
	} {
		if got := Authority(tt.at, tt.tenant); got != tt.want {
			t.Errorf("Authority(%s) = %q, want %q", tt.at, got, tt.want)
		}
		if got := AdminConsentAuthority(tt.at, tt.tenant); got != tt.admin {
			t.Errorf("AdminConsentAuthority(%s) = %q, want %q", tt.at, got, tt.admin)
		}
	}
}
