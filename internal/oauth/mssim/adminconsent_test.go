package mssim

import (
	"context"
	"net/url"
	"testing"
)

func TestAdminConsent(t *testing.T) {
	e := newTestEnv(t)
	d := e.demo
	consentURL := func(tenant string) string {
		q := url.Values{"client_id": {d.WebApp.ClientID}, "scope": {"https://graph.microsoft.com/.default"},
			"redirect_uri": {DemoRedirectURI}, "state": {"ac-1"}}
		return e.srv.URL + "/" + tenant + "/v2.0/adminconsent?" + q.Encode()
	}
	tests := []struct {
		name    string
		tenant  string
		account string
		cancel  bool
		page    int    // error page code
		errCode string // redirected error
		aad     string
	}{
		{name: "common", tenant: "common", account: d.FabrikamAdmin.UPN, page: 90130},
		{name: "consumers", tenant: "consumers", account: d.FabrikamAdmin.UPN, page: 90130},
		{name: "not an admin", tenant: DemoFabrikamTenantID, account: d.Megan.UPN, errCode: "consent_required", aad: "90094"},
		{name: "admin of another tenant", tenant: DemoFabrikamTenantID, account: d.ContosoAdmin.UPN, page: 50020},
		{name: "cancel", tenant: DemoFabrikamTenantID, account: d.FabrikamAdmin.UPN, cancel: true, errCode: "consent_required", aad: "65004"},
		{name: "accept", tenant: DemoFabrikamDomain, account: d.FabrikamAdmin.UPN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := SignIn(context.Background(), nil, consentURL(tt.tenant), tt.account, SignInOptions{Cancel: tt.cancel})
			if tt.page != 0 {
				if got := pageCode(t, err); got != tt.page {
					t.Fatalf("page %d, want %d", got, tt.page)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			q := loc.Query()
			if q.Get("state") != "ac-1" {
				t.Fatalf("state: %v", q)
			}
			if errCode, aad := redirectCode(q); errCode != tt.errCode || aad != tt.aad {
				t.Fatalf("got %s AADSTS%s, want %s AADSTS%s: %v", errCode, aad, tt.errCode, tt.aad, q)
			}
			if tt.errCode == "" && (q.Get("admin_consent") != "True" || q.Get("tenant") != DemoFabrikamTenantID || q.Get("scope") == "") {
				t.Fatalf("success redirect: %v", q)
			}
		})
	}
	// After the admin's consent, Megan gets the .Shared scope Fabrikam
	// reserves for admins.
	tok := e.redeem("organizations", d.Megan.UPN, map[string]string{"scope": "offline_access User.Read Mail.ReadWrite.Shared"})
	if tok.Scope != "https://graph.microsoft.com/User.Read https://graph.microsoft.com/Mail.ReadWrite.Shared offline_access" {
		t.Fatalf("scope %q", tok.Scope)
	}
}
