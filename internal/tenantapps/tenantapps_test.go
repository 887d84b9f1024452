package tenantapps_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/connections/conntest"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tenantapps"
	"github.com/brokerhq/broker/internal/tokens"
)

const redirect = "https://broker.example.com/oauth/callback"

// Acme's own app registration in the simulation: multitenant, PKCE
// required, one client secret to start with.
const (
	acmeClientID = "acacacac-1111-4222-8333-444455556666"
	firstSecret  = "acme~FirstSecret.value-1"
	secondSecret = "acme~SecondSecret.value-2"
)

type world struct {
	*conntest.Env
	reg   *tenantapps.Registry
	svc   *tenantapps.Service
	tok   *tokens.Service
	admin tenantapps.Actor
}

func newWorld(t *testing.T) *world {
	t.Helper()
	t.Parallel()
	e := conntest.New(t, redirect)
	if err := e.Sim.RegisterApp(mssim.App{ClientID: acmeClientID, Name: "Acme Outlook", HomeTenant: e.Demo.Contoso.ID,
		Audience: mssim.AudienceMultipleOrgs, RedirectURIs: []string{redirect}, RequirePKCE: true,
		Scopes:  append([]string{"openid", "profile", "email"}, mssim.OutlookScopes...),
		Secrets: []mssim.Secret{{Value: firstSecret, Expires: e.Sim.Now().AddDate(1, 0, 0)}}}); err != nil {
		t.Fatal(err)
	}
	w := &world{Env: e}
	w.reg = &tenantapps.Registry{Store: e.Store, Broker: e.MS, Base: e.MS.Microsoft, Now: e.Clock.Now}
	w.svc = &tenantapps.Service{Store: e.Store, Registry: w.reg, Verifier: e.MS, RedirectURL: redirect, Now: e.Clock.Now}
	e.Service.Apps = w.reg
	w.tok = tokens.New(e.Store, e.MS, tokens.Options{Now: e.Clock.Now, Apps: w.reg})
	t.Cleanup(w.tok.Close)
	w.admin = tenantapps.Actor{TenantID: e.Tenant.ID, UserID: e.Admin.ID, Email: e.Admin.Email, Admin: true}
	return w
}

func (w *world) register(t *testing.T) store.AppRegistration {
	t.Helper()
	app, err := w.svc.Create(context.Background(), w.admin, &tenantapps.Form{DisplayName: "Acme Outlook", ClientID: acmeClientID,
		HomeTenantID: w.Demo.Contoso.ID, Audience: store.AudienceMultipleOrgs, ClientSecret: firstSecret})
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	return app
}

// refresh forces a refresh of the connection and returns the token error, if any.
func (w *world) refresh(t *testing.T, connID string) error {
	t.Helper()
	// A forced refresh replaces the token the caller holds: load it first.
	if _, err := w.tok.Token(context.Background(), w.Tenant.ID, connID, tokens.Request{}); err != nil {
		return err
	}
	// A min_ttl beyond any access token's life: a failed refresh is not
	// hidden by serving the old token.
	_, err := w.tok.Token(context.Background(), w.Tenant.ID, connID, tokens.Request{ForceRefresh: true, MinTTL: 3 * time.Hour})
	return err
}

// TestTenantAppConnection: a tenant app is registered (verified at the
// sim), is a project's default, and the new connection's sign-in, code
// redemption, refresh and admin consent all go to Microsoft as that app,
// never as the broker's. Rotating its secret (new one added, old one
// deleted in Azure) keeps the connection refreshing.
func TestTenantAppConnection(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	app := w.register(t)
	if app.ClientID != acmeClientID || app.VerifiedAt.IsZero() || app.CertThumbprint != "" {
		t.Fatalf("registered %+v", app)
	}
	if err := w.svc.SetProjectDefault(ctx, w.admin, w.Sales.ID, app.ID); err != nil {
		t.Fatal(err)
	}
	w.Sim.ResetCounts()
	broker := w.Demo.WebApp.ClientID

	a := w.Actor(w.Admin, "s1")
	f := &connections.Form{Name: "adele", ProjectID: w.Sales.ID, AccountType: connections.AccountOrganizations,
		AuthType: connections.AuthCode, Scopes: connections.DefaultScopes()}
	out, err := w.Service.Submit(ctx, a, f)
	if err != nil {
		t.Fatalf("submit: %v %v", err, f.Errors)
	}
	if out.Connection.AppID != app.ID || !strings.Contains(out.RedirectURL, "client_id="+acmeClientID) {
		t.Fatalf("connection app %q, authorize URL %s", out.Connection.AppID, out.RedirectURL)
	}
	res, err := w.Service.Complete(ctx, a, true, w.SignIn(t, out.RedirectURL, w.Demo.Adele.UPN, mssim.SignInOptions{}))
	if err != nil || res.Connection.Status != "active" {
		t.Fatalf("complete: %+v %v", res, err)
	}
	connID := res.Connection.ID

	if err := w.refresh(t, connID); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	consentURL, err := w.Service.AdminConsent(ctx, a, connID)
	if err != nil || !strings.Contains(consentURL, "client_id="+acmeClientID) {
		t.Fatalf("admin consent URL %s %v", consentURL, err)
	}
	cres, err := w.Service.Complete(ctx, a, true, w.SignIn(t, consentURL, w.Demo.ContosoAdmin.UPN, mssim.SignInOptions{}))
	if err != nil || cres.Kind != connections.ResultAdminConsent {
		t.Fatalf("admin consent: %+v %v", cres, err)
	}
	for _, c := range []struct {
		endpoint, grant string
		app, broker     int64
	}{
		{mssim.EndpointAuthorize, "", 1, 0},
		{mssim.EndpointToken, "authorization_code", 1, 0},
		{mssim.EndpointToken, "refresh_token", 1, 0},
		{mssim.EndpointAdminConsent, "", 1, 0},
	} {
		if got := w.Sim.CountFor(acmeClientID, c.endpoint, c.grant); got != c.app {
			t.Errorf("%s %s as the tenant app: %d, want %d", c.endpoint, c.grant, got, c.app)
		}
		if got := w.Sim.CountFor(broker, c.endpoint, c.grant); got != c.broker {
			t.Errorf("%s %s as the broker's app: %d, want %d", c.endpoint, c.grant, got, c.broker)
		}
	}

	// Rotation as Microsoft recommends: add the new secret, switch, delete the old.
	if err := w.Sim.AddSecret(acmeClientID, mssim.Secret{Value: secondSecret, Expires: w.Sim.Now().AddDate(1, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Rotate(ctx, w.admin, app.ID, &tenantapps.Form{ClientSecret: secondSecret, SecretExpires: "2099-01-01"}); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	if err := w.Sim.RemoveSecret(acmeClientID, firstSecret); err != nil {
		t.Fatal(err)
	}
	w.Clock.Advance(time.Minute) // past the forced refresh cool-down
	if err := w.refresh(t, connID); err != nil {
		t.Fatalf("refresh after rotation: %v", err)
	}
	if got := w.Sim.CountFor(acmeClientID, mssim.EndpointToken, "refresh_token"); got != 2 {
		t.Errorf("refreshes as the tenant app: %d, want 2", got)
	}

	// The app cannot be deleted while the connection uses it, and its
	// connection cannot be moved to another app underneath it.
	if _, err := w.svc.Delete(ctx, w.admin, app.ID); !errors.Is(err, tenantapps.ErrInUse) {
		t.Fatalf("delete in use: %v", err)
	}
	owner, err := pgx.Connect(ctx, w.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	tag, err := owner.Exec(ctx, `UPDATE connections SET app_id = NULL WHERE id = $1`, connID)
	if err == nil || !strings.Contains(err.Error(), "cannot change") {
		t.Fatalf("a connection's app changed: %v (%d rows)", err, tag.RowsAffected())
	}
}

// TestTenantAppBrokenIsOneCondition: Microsoft refusing the tenant app's
// secret (deleted in Azure) pauses refreshes with one condition on the app,
// shown once; the connections keep their status, and recover by
// themselves when the admin rotates in a working secret.
func TestTenantAppBrokenIsOneCondition(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	app := w.register(t)
	a := w.Actor(w.Admin, "s1")
	var ids []string
	for _, who := range []string{w.Demo.Adele.UPN, w.Demo.Alex.UPN} {
		f := &connections.Form{Name: who, ProjectID: w.Sales.ID, AccountType: connections.AccountTenant, MSTenant: w.Demo.Contoso.ID,
			AuthType: connections.AuthCode, Scopes: connections.DefaultScopes(), App: app.ID}
		out, err := w.Service.Submit(ctx, a, f)
		if err != nil {
			t.Fatalf("submit: %v %v", err, f.Errors)
		}
		if _, err := w.Service.Complete(ctx, a, true, w.SignIn(t, out.RedirectURL, who, mssim.SignInOptions{})); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, out.Connection.ID)
	}
	if err := w.Sim.RemoveSecret(acmeClientID, firstSecret); err != nil {
		t.Fatal(err)
	}
	w.Clock.Advance(time.Minute) // past the forced refresh cool-down
	w.Sim.ResetCounts()
	for _, id := range ids {
		err := w.refresh(t, id)
		te, ok := tokens.AsError(err)
		if !ok || te.Code != tokens.CodeUnavailable || te.AADSTS != "AADSTS7000215" {
			t.Fatalf("refresh with a deleted secret: %v", err)
		}
	}
	apps, err := w.Store.AppRegistrations(ctx, w.Tenant.ID)
	if err != nil || len(apps) != 1 || apps[0].FailureCode != "AADSTS7000215" || apps[0].FailingSince == nil {
		t.Fatalf("apps %+v %v", apps, err)
	}
	for _, id := range ids {
		c, err := w.Store.Connection(ctx, w.Tenant.ID, id)
		if err != nil || c.Status != "active" || c.StatusCode != "" {
			t.Fatalf("connection %s after the app failed: %s %s %v", id, c.Status, c.StatusCode, err)
		}
	}
	// Only one probe went to Microsoft; the other refresh was paused.
	if got := w.Sim.CountFor(acmeClientID, mssim.EndpointToken, "refresh_token"); got != 1 {
		t.Errorf("refreshes sent while the app failed: %d, want 1", got)
	}
	// A wrong secret is refused when rotating, and saves nothing.
	f := &tenantapps.Form{ClientSecret: "acme~not-the-value"}
	if _, err := w.svc.Rotate(ctx, w.admin, app.ID, f); !errors.Is(err, tenantapps.ErrInvalid) ||
		!strings.Contains(f.Errors[tenantapps.FieldSecret], "AADSTS7000215") {
		t.Fatalf("rotate with a wrong secret: %v %v", err, f.Errors)
	}
	if err := w.Sim.AddSecret(acmeClientID, mssim.Secret{Value: secondSecret}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Rotate(ctx, w.admin, app.ID, &tenantapps.Form{ClientSecret: secondSecret}); err != nil {
		t.Fatal(err)
	}
	// The rotation ends the app's pause here; each connection waits out
	// the Retry-After it was answered with (at most the 30 s probe cap).
	w.Clock.Advance(31 * time.Second)
	for _, id := range ids {
		if err := w.refresh(t, id); err != nil {
			t.Fatalf("refresh after the fix: %v", err)
		}
	}
	if got, _ := w.Store.AppRegistration(ctx, w.Tenant.ID, app.ID); got.Failing() {
		t.Fatalf("still failing after the fix: %+v", got)
	}
}

// TestTenantAppBadInput: a malformed client ID, a wrong secret, an app
// unknown in its directory and a member's attempt are refused with a clear
// message, and nothing is saved. Another tenant can neither see nor use
// the app.
func TestTenantAppBadInput(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	contoso := w.Demo.Contoso.ID
	for _, c := range []struct {
		name  string
		form  tenantapps.Form
		field string
		says  string
	}{
		{"client ID not a GUID", tenantapps.Form{ClientID: "acme-app", HomeTenantID: contoso, Audience: store.AudienceSingle, ClientSecret: "x~y"},
			tenantapps.FieldClientID, "GUID"},
		{"secret ID instead of value", tenantapps.Form{ClientID: acmeClientID, HomeTenantID: contoso, Audience: store.AudienceSingle,
			ClientSecret: "11111111-2222-3333-4444-555555555555"}, tenantapps.FieldSecret, "Secret ID"},
		{"no audience", tenantapps.Form{ClientID: acmeClientID, HomeTenantID: contoso, ClientSecret: firstSecret},
			tenantapps.FieldAudience, "account types"},
		{"wrong secret", tenantapps.Form{ClientID: acmeClientID, HomeTenantID: contoso, Audience: store.AudienceMultipleOrgs,
			ClientSecret: "acme~wrong"}, tenantapps.FieldSecret, "AADSTS7000215"},
		{"unknown app", tenantapps.Form{ClientID: "00000000-1111-4222-8333-999999999999", HomeTenantID: contoso,
			Audience: store.AudienceMultipleOrgs, ClientSecret: firstSecret}, tenantapps.FieldClientID, "AADSTS700016"},
		{"certificate not uploaded", tenantapps.Form{ClientID: acmeClientID, HomeTenantID: contoso, Audience: store.AudienceMultipleOrgs,
			Credential: "certificate", CertPEM: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"},
			tenantapps.FieldCertificate, "cannot be used"},
	} {
		f := c.form
		_, err := w.svc.Create(ctx, w.admin, &f)
		if !errors.Is(err, tenantapps.ErrInvalid) || !strings.Contains(f.Errors[c.field], c.says) {
			t.Errorf("%s: %v, errors %v", c.name, err, f.Errors)
		}
		if f.ClientSecret != "" || f.CertPEM != "" {
			t.Errorf("%s: the form kept its secret", c.name)
		}
	}
	member := tenantapps.Actor{TenantID: w.Tenant.ID, UserID: w.Member.ID, Email: w.Member.Email}
	if _, err := w.svc.Create(ctx, member, &tenantapps.Form{ClientID: acmeClientID, HomeTenantID: contoso,
		Audience: store.AudienceMultipleOrgs, ClientSecret: firstSecret}); !errors.Is(err, tenantapps.ErrNotAdmin) {
		t.Errorf("member: %v", err)
	}
	if apps, err := w.Store.AppRegistrations(ctx, w.Tenant.ID); err != nil || len(apps) != 0 {
		t.Fatalf("saved after refusals: %+v %v", apps, err)
	}

	app := w.register(t)
	// Registered twice: refused.
	f := &tenantapps.Form{ClientID: acmeClientID, HomeTenantID: contoso, Audience: store.AudienceMultipleOrgs, ClientSecret: firstSecret}
	if _, err := w.svc.Create(ctx, w.admin, f); !errors.Is(err, tenantapps.ErrInvalid) || f.Errors[tenantapps.FieldClientID] == "" {
		t.Errorf("registered twice: %v %v", err, f.Errors)
	}
	// A multitenant app cannot sign in personal accounts.
	cf := &connections.Form{Name: "pat", ProjectID: w.Sales.ID, AccountType: connections.AccountConsumers,
		AuthType: connections.AuthCode, Scopes: connections.DefaultScopes(), App: app.ID}
	if _, err := w.Service.Submit(ctx, w.Actor(w.Admin, "s"), cf); !errors.Is(err, connections.ErrInvalid) || cf.Errors[connections.FieldApp] == "" {
		t.Errorf("consumers with a work-only app: %v %v", err, cf.Errors)
	}

	other, err := w.Store.CreateTenant(ctx, "other", "Other Inc")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Store.AppRegistration(ctx, other.ID, app.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another tenant reads the app: %v", err)
	}
	if apps, err := w.Store.AppRegistrations(ctx, other.ID); err != nil || len(apps) != 0 {
		t.Errorf("another tenant lists %d apps (%v)", len(apps), err)
	}
	if _, err := w.reg.Provider(ctx, other.ID, app.ID); !errors.Is(err, tenantapps.ErrUnknownApp) {
		t.Errorf("another tenant uses the app: %v", err)
	}
	if err := w.Store.SetProjectApp(ctx, other.ID, w.Sales.ID, app.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another tenant sets a project's app: %v", err)
	}
	otherProject, err := w.Store.CreateProject(ctx, other.ID, "Theirs")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Store.SetProjectApp(ctx, other.ID, otherProject.ID, app.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another tenant's project points at the app: %v", err)
	}
}
