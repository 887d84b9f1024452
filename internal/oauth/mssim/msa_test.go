package mssim

import (
	"strings"
	"testing"
)

// Personal accounts are never granted .Shared or directory-wide
// permissions; work accounts asking the same are.
func TestPersonalAccountsGetNoSharedScopes(t *testing.T) {
	e := newTestEnv(t)
	scope := "openid offline_access User.Read Mail.ReadWrite Mail.ReadWrite.Shared Calendars.ReadWrite.Shared"
	for _, c := range []struct {
		tenant, account string
		shared          bool
	}{
		{"consumers", e.demo.Pat.UPN, false},
		{"common", e.demo.Pat.UPN, false},
		{"common", e.demo.Adele.UPN, true},
	} {
		tr := e.redeem(c.tenant, c.account, map[string]string{"scope": scope})
		got := tr.Scope
		if !strings.Contains(got, GraphResource+"/Mail.ReadWrite ") && !strings.HasSuffix(got, GraphResource+"/Mail.ReadWrite") {
			t.Fatalf("%s: Mail.ReadWrite not granted: %q", c.account, got)
		}
		for _, sh := range []string{"Mail.ReadWrite.Shared", "Calendars.ReadWrite.Shared"} {
			if has := strings.Contains(got, "/"+sh); has != c.shared {
				t.Errorf("%s on %s: %s granted = %v, want %v (scope %q)", c.account, c.tenant, sh, has, c.shared, got)
			}
		}
		if tr.RefreshToken == "" {
			t.Fatalf("%s: no refresh token", c.account)
		}
		// Asking again on refresh does not add them either.
		r := e.refresh(c.tenant, tr.RefreshToken, "scope", scope)
		if r.status != 200 {
			t.Fatalf("%s: refresh HTTP %d %+v", c.account, r.status, r.err)
		}
		if has := strings.Contains(r.ok.Scope, ".Shared"); has != c.shared {
			t.Errorf("%s: refresh scope %q", c.account, r.ok.Scope)
		}
	}
}
