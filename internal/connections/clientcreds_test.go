package connections_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/connections/conntest"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
)

func ccForm(e *conntest.Env) *connections.Form {
	return &connections.Form{Name: "Robot", ProjectID: e.Sales.ID, AccountType: connections.AccountTenant,
		MSTenant: e.Demo.Contoso.ID, AuthType: connections.AuthClientCredentials, UserPrincipal: e.Demo.Adele.UPN,
		ClientID: e.Demo.DaemonApp.ClientID, ClientSecret: e.Demo.DaemonApp.Secret,
		SecretExpires: e.Clock.Now().AddDate(0, 0, 20).Format("2006-01-02")}
}

func TestClientCredentialsCreatesActiveConnection(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.Actor(e.Member, "b")
	f := ccForm(e)
	out, err := e.Service.Submit(ctx, a, f)
	if err != nil {
		t.Fatalf("%v %v", err, f.Errors)
	}
	if out.RedirectURL != "" || f.ClientSecret != "" {
		t.Fatalf("outcome %+v, secret kept in the form: %v", out, f.ClientSecret != "")
	}
	c, cr := conn(t, e, out.Connection.ID)
	if c.Status != "active" || c.AuthType != "client_credentials" || c.ClientID != e.Demo.DaemonApp.ClientID ||
		c.UserPrincipal != e.Demo.Adele.UPN || c.ClientSecretExpiresAt == nil || c.CreatedBy != e.Member.ID {
		t.Fatalf("%+v", c)
	}
	if cr.ClientSecret != e.Demo.DaemonApp.Secret || cr.AccessToken == "" || cr.RefreshToken != "" {
		t.Fatal("credentials not as expected")
	}
	if n := e.Sim.Count(mssim.EndpointGraph, "mailFolders"); n != 1 {
		t.Fatalf("inbox checked %d times", n)
	}
	conntest.AssertNoPlaintext(t, e.DBURL, e.Demo.DaemonApp.Secret, cr.AccessToken)
}

func TestClientCredentialsFailuresSaveNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.Actor(e.Admin, "b")
	// An app registered in Contoso whose application permissions nobody consented to.
	if err := e.Sim.RegisterApp(mssim.App{ClientID: "99998888-aaaa-4bbb-8ccc-777766665555", Name: "No consent",
		HomeTenant: e.Demo.Contoso.ID, Audience: mssim.AudienceMyOrg, AppPermissions: []string{"Mail.Read"},
		Secrets: []mssim.Secret{{Value: "no~consent-secret-value", Expires: e.Clock.Now().AddDate(1, 0, 0)}}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		edit  func(*connections.Form)
		field string
		want  string
	}{
		{"wrong secret", func(f *connections.Form) { f.ClientSecret = "not~the-secret-value" }, connections.FieldClientSecret, "AADSTS7000215"},
		{"expired secret", func(f *connections.Form) { f.ClientSecret = e.Demo.DaemonApp.ExpiredSecret }, connections.FieldClientSecret, "AADSTS7000222"},
		{"unknown tenant", func(f *connections.Form) { f.MSTenant = "12345678-1234-4234-8234-123456789abc" }, connections.FieldMSTenant, "AADSTS90002"},
		{"app not in tenant", func(f *connections.Form) { f.MSTenant = e.Demo.Fabrikam.ID }, connections.FieldClientID, "AADSTS700016"},
		{"unknown client", func(f *connections.Form) { f.ClientID = "00000000-1111-4222-8333-444455556666" }, connections.FieldClientID, "AADSTS700016"},
		{"unknown user", func(f *connections.Form) { f.UserPrincipal = "nobody@" + e.Demo.Contoso.Domain }, connections.FieldUserPrincipal, "mailbox"},
		{"no admin consent", func(f *connections.Form) {
			f.ClientID, f.ClientSecret = "99998888-aaaa-4bbb-8ccc-777766665555", "no~consent-secret-value"
		}, connections.FieldForm, "admin consent"},
		{"Microsoft busy", func(*connections.Form) {
			e.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, Grant: "client_credentials", Status: 503, Times: 1})
		}, connections.FieldForm, "try again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := ccForm(e)
			tt.edit(f)
			_, err := e.Service.Submit(ctx, a, f)
			if !errors.Is(err, connections.ErrInvalid) {
				t.Fatalf("err = %v", err)
			}
			msg := f.Errors[tt.field]
			if !strings.Contains(strings.ToLower(msg), strings.ToLower(tt.want)) {
				t.Fatalf("error at %s = %q, want it to mention %q; all: %v", tt.field, msg, tt.want, f.Errors)
			}
			if f.ClientSecret != "" {
				t.Fatal("the secret would be echoed back")
			}
			if strings.Contains(strings.Join(values(f.Errors), " "), "secret-value") {
				t.Fatal("an error message holds the secret")
			}
		})
	}
	list, err := e.Store.ListConnections(ctx, e.Tenant.ID, store.ListConnectionsFilter{})
	if err != nil || len(list) != 0 {
		t.Fatalf("failed checks saved %d connections (%v)", len(list), err)
	}
	conntest.AssertNoPlaintext(t, e.DBURL, "not~the-secret-value", e.Demo.DaemonApp.ExpiredSecret, "no~consent-secret-value")
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestClientCredentialsNameTaken(t *testing.T) {
	e := newEnv(t)
	a := e.Actor(e.Admin, "b")
	if _, err := e.Service.Submit(context.Background(), a, ccForm(e)); err != nil {
		t.Fatal(err)
	}
	f := ccForm(e)
	before := e.Sim.Count(mssim.EndpointToken, "")
	if _, err := e.Service.Submit(context.Background(), a, f); !errors.Is(err, connections.ErrInvalid) || f.Errors[connections.FieldName] == "" {
		t.Fatalf("%v %v", err, f.Errors)
	}
	if e.Sim.Count(mssim.EndpointToken, "") != before {
		t.Fatal("a taken name still asked Microsoft for a token")
	}
}
