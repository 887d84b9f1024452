package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/brokerhq/broker/internal/store"
)

const (
	entraA = "aaaabbbb-0000-cccc-1111-dddd2222eeee"
	oidAnn = "aded0000-0000-4000-8000-00000000c001"
)

// An Entra tenant links to one broker tenant; the sign-in finds it across
// tenants; identities, rules and links stay in their tenant (RLS), and the
// app role sees none of them without a tenant.
func TestSSOLinksIdentitiesAndRulesStayInTheirTenant(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ann, err := f.s.CreateUser(ctx, f.tenantA.ID, "ann@acme.test", "hash", store.RoleMember, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.AddSSOLink(ctx, store.SSOLink{EntraTenantID: entraA, TenantID: f.tenantA.ID, VerifiedBy: ann.ID, VerifiedOID: oidAnn}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.AddSSOLink(ctx, store.SSOLink{EntraTenantID: entraA, TenantID: f.tenantB.ID, VerifiedOID: oidAnn}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("the same Entra tenant linked to a second broker tenant: %v", err)
	}
	if got, err := f.s.SSOTenantOf(ctx, "AAAABBBB-0000-CCCC-1111-DDDD2222EEEE"); err != nil || got != f.tenantA.ID {
		t.Fatalf("SSOTenantOf: %q, %v", got, err)
	}
	if links, err := f.s.SSOLinks(ctx, f.tenantB.ID); err != nil || len(links) != 0 {
		t.Fatalf("tenant B sees links %v, %v", links, err)
	}
	if err := f.s.AddSSOIdentity(ctx, f.tenantA.ID, ann.ID, entraA, oidAnn); err != nil {
		t.Fatal(err)
	}
	if u, err := f.s.UserBySSOIdentity(ctx, f.tenantA.ID, entraA, oidAnn); err != nil || u.ID != ann.ID {
		t.Fatalf("identity in its tenant: %v", err)
	}
	if _, err := f.s.UserBySSOIdentity(ctx, f.tenantB.ID, entraA, oidAnn); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("identity from another tenant: %v", err)
	}
	if _, err := f.s.AddSSORule(ctx, store.SSORule{TenantID: f.tenantA.ID, Claim: "group", Value: "g", Role: "admin",
		ProjectIDs: []string{f.projectB.ID}}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a rule naming another tenant's project: %v", err)
	}
	if _, err := f.s.AddSSORule(ctx, store.SSORule{TenantID: f.tenantA.ID, Claim: "group", Value: "g", Role: "admin",
		ProjectIDs: []string{f.projectA.ID}}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetUserAccess(ctx, f.tenantA.ID, ann.ID, store.RoleAdmin, []string{f.projectA.ID, f.projectB.ID}); err != nil {
		t.Fatal(err)
	}
	if u, _ := f.s.User(ctx, f.tenantA.ID, ann.ID); u.Role != store.RoleAdmin || len(u.ProjectIDs) != 1 || u.ProjectIDs[0] != f.projectA.ID {
		t.Fatalf("access: role %s projects %v (another tenant's project must not be added)", u.Role, u.ProjectIDs)
	}
	if err := f.s.SetRequireSSO(ctx, f.tenantA.ID, true); err != nil {
		t.Fatal(err)
	}
	if on, _ := f.s.RequireSSO(ctx, f.tenantA.ID); !on {
		t.Fatal("require SSO not set")
	}
	if on, _ := f.s.RequireSSO(ctx, f.tenantB.ID); on {
		t.Fatal("require SSO leaked to tenant B")
	}

	c := rawConn(t, f.url)
	if _, err := c.Exec(ctx, "SET ROLE "+store.AppRole); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"sso_links", "sso_identities", "sso_rules"} {
		var n int
		if err := c.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s: %d rows visible to the app role without a tenant (%v)", table, n, err)
		}
	}
}
