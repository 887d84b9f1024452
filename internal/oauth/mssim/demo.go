package mssim

import (
	"fmt"
	"time"
)

// Demo values. They are fixed so that documentation, the demo broker and
// tests can name them; they are demo-only and open nothing real.
const (
	DemoContosoTenantID  = "aaaabbbb-0000-cccc-1111-dddd2222eeee"
	DemoContosoDomain    = "contoso.onmicrosoft.com"
	DemoFabrikamTenantID = "bbbbcccc-1111-dddd-2222-eeee3333ffff"
	DemoFabrikamDomain   = "fabrikam.onmicrosoft.com"
	// Northwind Traders federates northwindtraders.com to its own identity
	// provider (the sim's IdP host); its onmicrosoft.com domain stays managed.
	DemoNorthwindTenantID        = "ccccdddd-2222-eeee-3333-ffff4444aaaa"
	DemoNorthwindDomain          = "northwindtraders.onmicrosoft.com"
	DemoNorthwindFederatedDomain = "northwindtraders.com"

	DemoWebClientID     = "00001111-aaaa-2222-bbbb-3333cccc4444"
	DemoWebClientSecret = "demo~WebAppSecret.not-for-production"

	DemoDaemonClientID      = "11112222-bbbb-3333-cccc-4444dddd5555"
	DemoDaemonClientSecret  = "demo~DaemonSecret.not-for-production"
	DemoDaemonExpiredSecret = "demo~ExpiredDaemonSecret.not-for-production"

	DemoRedirectURI = "http://localhost:8080/oauth/callback"
)

// DemoAppRoles are the app roles the demo web app defines, for single
// sign-on rules.
var DemoAppRoles = []string{"Broker.Admin", "Broker.Member"}

// DemoConfig adapts the demo web app to the broker it is shown with.
type DemoConfig struct {
	RedirectURIs []string // the web app's; default DemoRedirectURI
	WebClientID  string   // default DemoWebClientID
	WebSecret    string   // default DemoWebClientSecret
}

type DemoTenant struct{ ID, Name, Domain string }

type DemoUser struct {
	ObjectID, UPN, DisplayName, TenantID string
	Admin                                bool
}

type DemoApp struct {
	ClientID, Name, HomeTenantID string
	Secret                       string // valid
	ExpiredSecret                string // expired a day before seeding; empty for the web app
	RedirectURIs                 []string
	Scopes, AppPermissions       []string
}

// Demo is everything SeedDemo registered.
type Demo struct {
	Contoso, Fabrikam, Northwind, Consumers              DemoTenant
	Adele, Alex, ContosoAdmin, Megan, FabrikamAdmin, Pat DemoUser
	Lee                                                  DemoUser // Northwind, federated: signs in at the IdP host
	WebApp                                               DemoApp  // multi-tenant web app (work, school and personal accounts), PKCE required
	DaemonApp                                            DemoApp  // single-tenant (Contoso) app with application permissions granted by admin
}

// OutlookScopes are the delegated permissions an Outlook connection asks for
// by default; Fabrikam requires admin consent for the .Shared ones.
var OutlookScopes = []string{"Mail.Send", "Mail.ReadWrite", "Mail.ReadWrite.Shared", "Calendars.ReadWrite",
	"Calendars.ReadWrite.Shared", "User.Read", "offline_access"}

// OutlookAppPermissions are the recommended application permissions for a
// client-credentials Outlook connection (Mail.Read is the minimum).
var OutlookAppPermissions = []string{"Calendars.Read", "Calendars.ReadWrite", "Contacts.Read", "Contacts.ReadWrite",
	"Mail.Read", "Mail.ReadWrite", "Mail.Send"}

// SeedDemo registers two work tenants (Fabrikam requires admin consent for
// .Shared scopes), their users, a personal account, the broker's web app and
// a client-credentials app with its roles granted in Contoso. It panics if
// the sim already holds any of them: seeding is set-up, not a runtime path.
func SeedDemo(s *Sim, cfg DemoConfig) Demo {
	if len(cfg.RedirectURIs) == 0 {
		cfg.RedirectURIs = []string{DemoRedirectURI}
	}
	if cfg.WebClientID == "" {
		cfg.WebClientID = DemoWebClientID
	}
	if cfg.WebSecret == "" {
		cfg.WebSecret = DemoWebClientSecret
	}
	must := func(err error) {
		if err != nil {
			panic(fmt.Sprintf("mssim: seed demo: %v", err))
		}
	}
	d := Demo{
		Contoso:   DemoTenant{ID: DemoContosoTenantID, Name: "Contoso", Domain: DemoContosoDomain},
		Fabrikam:  DemoTenant{ID: DemoFabrikamTenantID, Name: "Fabrikam", Domain: DemoFabrikamDomain},
		Northwind: DemoTenant{ID: DemoNorthwindTenantID, Name: "Northwind Traders", Domain: DemoNorthwindFederatedDomain},
		Consumers: DemoTenant{ID: ConsumersTenantID, Name: "Microsoft Accounts", Domain: "outlook.com"},
	}
	must(s.AddTenant(Tenant{ID: d.Contoso.ID, Name: d.Contoso.Name, Domains: []string{d.Contoso.Domain}}))
	must(s.AddTenant(Tenant{ID: d.Fabrikam.ID, Name: d.Fabrikam.Name, Domains: []string{d.Fabrikam.Domain},
		AdminConsentRequired: []string{".Shared"}}))
	must(s.AddTenant(Tenant{ID: d.Northwind.ID, Name: d.Northwind.Name,
		Domains:          []string{DemoNorthwindDomain, DemoNorthwindFederatedDomain},
		FederatedDomains: []string{DemoNorthwindFederatedDomain}}))

	addUser := func(tenantID, oid, upn, given, surname string, admin bool) DemoUser {
		name := given + " " + surname
		u, err := s.AddUser(User{TenantID: tenantID, ObjectID: oid, UPN: upn, DisplayName: name,
			GivenName: given, Surname: surname, Admin: admin})
		must(err)
		return DemoUser{ObjectID: u.ObjectID, UPN: u.UPN, DisplayName: name, TenantID: u.TenantID, Admin: admin}
	}
	d.Adele = addUser(d.Contoso.ID, "aded0000-0000-4000-8000-00000000c001", "adele@"+DemoContosoDomain, "Adele", "Vance", false)
	d.Alex = addUser(d.Contoso.ID, "a1e00000-0000-4000-8000-00000000c002", "alex@"+DemoContosoDomain, "Alex", "Wilber", false)
	d.ContosoAdmin = addUser(d.Contoso.ID, "ad000000-0000-4000-8000-00000000c0ad", "admin@"+DemoContosoDomain, "Contoso", "Administrator", true)
	d.Megan = addUser(d.Fabrikam.ID, "0e6a0000-0000-4000-8000-00000000fab1", "megan@"+DemoFabrikamDomain, "Megan", "Bowen", false)
	d.FabrikamAdmin = addUser(d.Fabrikam.ID, "ad000000-0000-4000-8000-00000000faad", "admin@"+DemoFabrikamDomain, "Fabrikam", "Administrator", true)
	d.Lee = addUser(d.Northwind.ID, "1ee00000-0000-4000-8000-0000000000e1", "lee@"+DemoNorthwindFederatedDomain, "Lee", "Gu", false)
	d.Pat = addUser(ConsumersTenantID, "00000000-0000-0000-6a7b-1c2d3e4f5a6b", "pat@outlook.com", "Pat", "Doe", false)

	now := s.Now()
	d.WebApp = DemoApp{ClientID: cfg.WebClientID, Name: "Outlook Broker (demo)", HomeTenantID: d.Contoso.ID,
		Secret: cfg.WebSecret, RedirectURIs: cfg.RedirectURIs,
		Scopes: append([]string{"openid", "profile", "email"}, OutlookScopes...)}
	must(s.RegisterApp(App{ClientID: d.WebApp.ClientID, Name: d.WebApp.Name, HomeTenant: d.Contoso.ID,
		Audience: AudienceOrgsAndPersonal, RedirectURIs: cfg.RedirectURIs, RequirePKCE: true,
		// For signing in to the broker itself (README, "Sign in with Microsoft").
		OptionalClaims: []string{"auth_time"}, GroupMembershipClaims: "SecurityGroup", AppRoles: DemoAppRoles,
		Secrets: []Secret{{Value: cfg.WebSecret, Expires: now.AddDate(2, 0, 0)}}, Scopes: d.WebApp.Scopes}))

	d.DaemonApp = DemoApp{ClientID: DemoDaemonClientID, Name: "Outlook Broker daemon (demo)", HomeTenantID: d.Contoso.ID,
		Secret: DemoDaemonClientSecret, ExpiredSecret: DemoDaemonExpiredSecret, RedirectURIs: cfg.RedirectURIs,
		AppPermissions: OutlookAppPermissions}
	must(s.RegisterApp(App{ClientID: DemoDaemonClientID, Name: d.DaemonApp.Name, HomeTenant: d.Contoso.ID,
		Audience: AudienceMyOrg, RedirectURIs: cfg.RedirectURIs, AppPermissions: OutlookAppPermissions,
		Secrets: []Secret{
			{Value: DemoDaemonClientSecret, Expires: now.AddDate(1, 0, 0)},
			{Value: DemoDaemonExpiredSecret, Expires: now.Add(-24 * time.Hour)},
		}}))
	must(s.GrantAppRoles(d.Contoso.ID, DemoDaemonClientID))
	return d
}

// DemoValues is what SeedDemo registers, without registering it: the names
// of a demo directory restored from a state file.
func DemoValues(cfg DemoConfig) Demo { return SeedDemo(New(Options{}), cfg) }
