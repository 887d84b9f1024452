package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/brokerhq/broker/internal/auth"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
)

// Demo-only values: published in the README, used only by `broker demo`.
const (
	DemoTenantSlug     = "demo"
	DemoAdminEmail     = "admin@demo.test"
	DemoAdminPassword  = "demo-admin-password"
	DemoMemberEmail    = "member@demo.test"
	DemoConnectionName = "Contoso shared mailbox (demo)"
)

// DemoSeed is what SeedDemo made, for the start-up banner.
type DemoSeed struct {
	TenantID                                               string
	AdminEmail, AdminPassword                              string
	MemberEmail, MemberProject                             string // same password as the admin
	Accounts                                               []string
	DaemonTenant, DaemonUser, DaemonClientID, DaemonSecret string
	ConnectionID, ConnectionName                           string
	APIKey                                                 string
}

// SeedDemo creates (or finds, on a restart) the demo tenant: two projects, a
// demo admin and member, a client-credentials connection to the simulated
// Contoso tenant, and an API key. It is only called by `broker demo`.
func SeedDemo(ctx context.Context, a *App) (DemoSeed, error) {
	st := a.Store
	d := DemoSeed{AdminEmail: DemoAdminEmail, AdminPassword: DemoAdminPassword, MemberEmail: DemoMemberEmail, MemberProject: "Sales",
		Accounts: []string{"adele@" + mssim.DemoContosoDomain, "megan@" + mssim.DemoFabrikamDomain,
			"lee@" + mssim.DemoNorthwindFederatedDomain + " (federated: signs in at Northwind's own IdP)",
			"pat@outlook.com (personal: signs in at the Microsoft account host)"},
		DaemonTenant: mssim.DemoContosoDomain, DaemonUser: "adele@" + mssim.DemoContosoDomain,
		DaemonClientID: mssim.DemoDaemonClientID, DaemonSecret: mssim.DemoDaemonClientSecret,
		ConnectionName: DemoConnectionName}
	t, err := st.TenantBySlug(ctx, DemoTenantSlug)
	if errors.Is(err, store.ErrNotFound) {
		t, err = st.CreateTenant(ctx, DemoTenantSlug, "Demo Co")
	}
	if err != nil {
		return d, err
	}
	d.TenantID = t.ID
	var projects []store.Project
	for _, name := range []string{"Sales", "Support"} {
		p, err := st.ProjectByName(ctx, t.ID, name)
		if errors.Is(err, store.ErrNotFound) {
			p, err = st.CreateProject(ctx, t.ID, name)
		}
		if err != nil {
			return d, err
		}
		projects = append(projects, p)
	}
	for _, u := range []struct{ email, role string }{{DemoAdminEmail, store.RoleAdmin}, {DemoMemberEmail, store.RoleMember}} {
		if _, err := st.PrincipalByEmail(ctx, u.email); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return d, err
		}
		hash, err := auth.HashPassword(DemoAdminPassword)
		if err != nil {
			return d, err
		}
		if _, err := st.CreateUser(ctx, t.ID, u.email, hash, u.role, []string{projects[0].ID}); err != nil {
			return d, fmt.Errorf("demo user %s: %w", u.email, err)
		}
	}
	conns, err := st.ListConnections(ctx, t.ID, store.ListConnectionsFilter{ProjectIDs: []string{projects[0].ID}, Limit: 500})
	if err != nil {
		return d, err
	}
	for _, c := range conns {
		if c.Name == DemoConnectionName {
			d.ConnectionID = c.ID
		}
	}
	if d.ConnectionID == "" {
		c, err := st.CreateConnection(ctx, store.NewConnection{TenantID: t.ID, ProjectID: projects[0].ID,
			Name: DemoConnectionName, AccountType: "tenant", AuthType: "client_credentials",
			MSTenant: mssim.DemoContosoDomain, ClientID: mssim.DemoDaemonClientID, UserPrincipal: d.DaemonUser,
			RequestedScopes: []string{"https://graph.microsoft.com/.default"}, Status: "active",
			ClientSecret: mssim.DemoDaemonClientSecret})
		if err != nil {
			return d, err
		}
		d.ConnectionID = c.ID
		// As a connection made on the page would be: the app-only grant, and
		// the tenant it lives in (its first token is fetched on first use).
		if _, err := st.UpdateConnection(ctx, t.ID, c.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
			return store.ConnectionUpdate{GrantedScopes: []string{"https://graph.microsoft.com/.default"},
				Account: &store.Account{TID: mssim.DemoContosoTenantID, Username: d.DaemonUser}}, nil
		}); err != nil {
			return d, err
		}
	}
	d.APIKey, err = a.seedDemoAPIKey(ctx, t.ID)
	return d, err
}
