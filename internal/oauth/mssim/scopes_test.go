package mssim

import "testing"

// Scope spellings normalise to one canonical, fully qualified form.
func TestParseScopes(t *testing.T) {
	tests := []struct {
		raw              string
		want             string
		dflt             bool
		badScope, badRes string
	}{
		{raw: "Mail.Read", want: "https://graph.microsoft.com/Mail.Read"},
		{raw: "mail.read https://graph.microsoft.com/user.read", want: "https://graph.microsoft.com/User.Read https://graph.microsoft.com/Mail.Read"},
		{raw: "00000003-0000-0000-c000-000000000000/Mail.Send", want: "https://graph.microsoft.com/Mail.Send"},
		{raw: "offline_access openid  profile User.Read", want: "https://graph.microsoft.com/User.Read openid profile offline_access"},
		{raw: "https://graph.microsoft.com/.default openid", want: "openid", dflt: true},
		{raw: "User.Read Mail.Fly", want: "https://graph.microsoft.com/User.Read", badScope: "Mail.Fly"},
		{raw: "Mail.ReadBasic.All", want: "", badScope: "Mail.ReadBasic.All"}, // application-only
		{raw: "api://contoso/Things.Read User.Read", want: "https://graph.microsoft.com/User.Read", badRes: "api://contoso"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			p := parseScopes(tt.raw)
			if p.set.String() != tt.want || p.dflt != tt.dflt || p.badScope != tt.badScope || p.badRes != tt.badRes {
				t.Fatalf("got %q default=%v bad=%q/%q", p.set.String(), p.dflt, p.badScope, p.badRes)
			}
		})
	}
}

// Admin-only scopes: the catalog's, plus a tenant's suffix rules; never for
// personal accounts.
func TestAdminOnly(t *testing.T) {
	fabrikam := &tenant{adminOnly: []string{".Shared"}}
	contoso := &tenant{}
	consumers := &tenant{personal: true}
	set := mustScopes("User.Read", "User.Read.All", "Mail.ReadWrite.Shared", "Calendars.Read.Shared")
	tests := []struct {
		name string
		t    *tenant
		want scopeSet
	}{
		{"fabrikam", fabrikam, mustScopes("User.Read.All", "Mail.ReadWrite.Shared", "Calendars.Read.Shared")},
		{"contoso", contoso, mustScopes("User.Read.All")},
		{"consumers", consumers, 0},
		{"exact name rule", &tenant{adminOnly: []string{"mail.readwrite.shared"}}, mustScopes("User.Read.All", "Mail.ReadWrite.Shared")},
	}
	for _, tt := range tests {
		if got := adminOnly(tt.t, set); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got.names(), tt.want.names())
		}
	}
}
