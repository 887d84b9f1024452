package mssim

import (
	"testing"
	"time"
)

// The refresh_token grant: replacement, subsets, and every way a refresh
// token dies.
func TestTokenRefresh(t *testing.T) {
	e := newTestEnv(t)
	tests := []struct {
		name    string
		account string
		run     func(t *testing.T, rt string) tokenResult
		errCode string // "" = success
		aad     int
	}{
		{name: "new refresh token, old one still works", account: e.demo.Adele.UPN, run: func(t *testing.T, rt string) tokenResult {
			r1 := e.refresh("common", rt)
			if r1.ok.RefreshToken == "" || r1.ok.RefreshToken == rt {
				t.Fatalf("want a new refresh token: %s", r1.raw)
			}
			if r1.ok.IDToken == "" {
				t.Error("no id_token although openid was granted and no scope was sent")
			}
			return e.refresh("common", rt)
		}},
		{name: "subset without openid: no id_token", account: e.demo.Adele.UPN, run: func(t *testing.T, rt string) tokenResult {
			r := e.refresh("common", rt, "scope", "https://graph.microsoft.com/Mail.Read offline_access")
			if r.ok.Scope != "https://graph.microsoft.com/Mail.Read offline_access" || r.ok.IDToken != "" || r.ok.RefreshToken == "" {
				t.Errorf("got scope %q, id_token %v, refresh token %v", r.ok.Scope, r.ok.IDToken != "", r.ok.RefreshToken != "")
			}
			return r
		}},
		{name: "scope beyond the grant", account: e.demo.Adele.UPN, errCode: "invalid_grant", aad: 65001, run: func(t *testing.T, rt string) tokenResult {
			r := e.refresh("common", rt, "scope", "Mail.Send")
			if r.err.Suberror != "consent_required" {
				t.Errorf("suberror %q", r.err.Suberror)
			}
			return r
		}},
		{name: "revoked user", account: e.demo.Alex.UPN, errCode: "invalid_grant", aad: 50173, run: func(t *testing.T, rt string) tokenResult {
			mustDo(t, e.sim.RevokeUser(e.demo.Alex.UPN))
			return e.refresh("common", rt)
		}},
		{name: "signing in again after revocation", account: e.demo.Alex.UPN, run: func(t *testing.T, rt string) tokenResult {
			return e.refresh("common", rt)
		}},
		{name: "expired grants", account: e.demo.Megan.UPN, errCode: "invalid_grant", aad: 70008, run: func(t *testing.T, rt string) tokenResult {
			mustDo(t, e.sim.ExpireUserGrants(e.demo.Megan.UPN))
			return e.refresh("common", rt)
		}},
		{name: "MFA as invalid_grant", account: e.demo.Adele.UPN, errCode: "invalid_grant", aad: 50076, run: func(t *testing.T, rt string) tokenResult {
			mustDo(t, e.sim.RequireMFA(e.demo.Adele.UPN, MFAInvalidGrant))
			defer func() { mustDo(t, e.sim.RequireMFA(e.demo.Adele.UPN, MFAOff)) }()
			r := e.refresh("common", rt)
			if r.err.Suberror != "basic_action" {
				t.Errorf("suberror %q", r.err.Suberror)
			}
			return r
		}},
		{name: "MFA as interaction_required", account: e.demo.Pat.UPN, errCode: "interaction_required", aad: 50076, run: func(t *testing.T, rt string) tokenResult {
			mustDo(t, e.sim.RequireMFA(e.demo.Pat.UPN, MFAInteractionRequired))
			return e.refresh("common", rt)
		}},
		{name: "MFA satisfied by a new sign-in", account: e.demo.Pat.UPN, run: func(t *testing.T, rt string) tokenResult {
			return e.refresh("common", rt)
		}},
		{name: "unused for 91 days", account: e.demo.Adele.UPN, errCode: "invalid_grant", aad: 700082, run: func(t *testing.T, rt string) tokenResult {
			e.sim.Advance(91 * 24 * time.Hour)
			return e.refresh("common", rt)
		}},
		{name: "kept alive by use every 89 days", account: e.demo.Adele.UPN, run: func(t *testing.T, rt string) tokenResult {
			for range 3 {
				e.sim.Advance(89 * 24 * time.Hour)
				r := e.refresh("common", rt)
				if r.status != 200 {
					return r
				}
				rt = r.ok.RefreshToken
			}
			return e.refresh("common", rt)
		}},
		{name: "aged by the control", account: e.demo.Megan.UPN, errCode: "invalid_grant", aad: 700082, run: func(t *testing.T, rt string) tokenResult {
			mustDo(t, e.sim.ExpireIdleRefreshTokens(e.demo.Megan.UPN))
			return e.refresh("common", rt)
		}},
		{name: "unknown refresh token", account: e.demo.Adele.UPN, errCode: "invalid_grant", aad: 9002313, run: func(t *testing.T, rt string) tokenResult {
			return e.refresh("common", rt+"x")
		}},
		{name: "at another tenant", account: e.demo.Adele.UPN, errCode: "invalid_grant", aad: 50020, run: func(t *testing.T, rt string) tokenResult {
			return e.refresh(DemoFabrikamDomain, rt)
		}},
		{name: "personal account at organizations", account: e.demo.Pat.UPN, errCode: "invalid_grant", aad: 500208, run: func(t *testing.T, rt string) tokenResult {
			return e.refresh("organizations", rt)
		}},
		{name: "at the user's own tenant", account: e.demo.Adele.UPN, run: func(t *testing.T, rt string) tokenResult {
			return e.refresh(DemoContosoTenantID, rt)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := e.redeem("common", tt.account, nil).RefreshToken
			r := tt.run(t, rt)
			if tt.errCode == "" {
				if r.status != 200 || r.ok.RefreshToken == "" {
					t.Fatalf("want success with a refresh token, got %d %s", r.status, r.raw)
				}
				return
			}
			wantTokenError(t, r, 400, tt.errCode, tt.aad)
		})
	}
}

// Access tokens live a random 60–90 minutes unless told otherwise.
func TestTokenLifetimes(t *testing.T) {
	e := newTestEnv(t)
	rt := e.redeem("common", e.demo.Adele.UPN, nil).RefreshToken
	seen := map[int64]bool{}
	for range 40 {
		r := e.refresh("common", rt)
		if r.ok.ExpiresIn < 3600 || r.ok.ExpiresIn > 5400 || r.ok.ExtExpiresIn != r.ok.ExpiresIn {
			t.Fatalf("expires_in %d ext %d", r.ok.ExpiresIn, r.ok.ExtExpiresIn)
		}
		seen[r.ok.ExpiresIn] = true
	}
	if len(seen) < 10 {
		t.Errorf("only %d distinct lifetimes in 40 tokens", len(seen))
	}
	e.sim.SetLifetimes(Lifetimes{AccessMin: 5 * time.Minute, AccessMax: 5 * time.Minute})
	if r := e.refresh("common", rt); r.ok.ExpiresIn != 300 {
		t.Errorf("after SetLifetimes: expires_in %d", r.ok.ExpiresIn)
	}
}
