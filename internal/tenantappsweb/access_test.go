package tenantappsweb_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/brokerhq/broker/internal/admin/admintest"
	"github.com/brokerhq/broker/internal/store"
)

// TestAppsPageAccess: only the tenant's admins open and change the page;
// another tenant's admin can neither see Acme's app nor rotate, delete or
// choose it (404, as for a missing one); a delete of an app in use is
// refused with 409 and changes nothing.
func TestAppsPageAccess(t *testing.T) {
	s := admintest.New(t)
	daemon := s.Demo.DaemonApp
	admin := s.Browser(t).SignIn(s.Admin.Email)
	add := url.Values{"display_name": {"Acme daemon"}, "client_id": {daemon.ClientID}, "home_tenant_id": {s.Demo.Contoso.ID},
		"audience": {"single"}, "credential": {"secret"}, "client_secret": {daemon.Secret}}
	admintest.WantRedirect(t, admin.Post("/settings/apps", add), "/settings/apps")
	apps, err := s.Store.AppRegistrations(t.Context(), s.Tenant.ID)
	if err != nil || len(apps) != 1 {
		t.Fatalf("apps %+v %v", apps, err)
	}
	id := apps[0].ID
	page := admin.Get("/settings/apps")
	admintest.WantStatus(t, page, http.StatusOK)
	admintest.WantBody(t, page, "Acme daemon", daemon.ClientID, s.Redirect)
	admintest.WantNotInBody(t, page, daemon.Secret)

	member := s.Browser(t).SignIn(s.Member.Email)
	admintest.WantStatus(t, member.Get("/settings/apps"), http.StatusForbidden)
	admintest.WantStatus(t, member.Post("/settings/apps", add), http.StatusForbidden)
	admintest.WantStatus(t, member.Post("/settings/apps/"+id+"/delete", nil), http.StatusForbidden)

	globex := s.Browser(t).SignIn(s.GilAdmin.Email)
	admintest.WantNotInBody(t, globex.Get("/settings/apps"), "Acme daemon", daemon.ClientID)
	admintest.WantStatus(t, globex.Post("/settings/apps/"+id+"/delete", nil), http.StatusNotFound)
	admintest.WantStatus(t, globex.Post("/settings/apps/"+id+"/credential", url.Values{"client_secret": {daemon.Secret}}), http.StatusNotFound)
	admintest.WantStatus(t, globex.Post("/settings/apps/projects/"+s.GlobexOp.ID, url.Values{"app": {id}}), http.StatusNotFound)
	admintest.WantStatus(t, globex.Post("/settings/apps/projects/"+s.Sales.ID, url.Values{"app": {""}}), http.StatusNotFound)

	// In use: a connection made with it cannot lose it.
	admintest.WantRedirect(t, admin.Post("/settings/apps/projects/"+s.Sales.ID, url.Values{"app": {id}}), "/settings/apps")
	if _, err := s.Store.CreateConnection(t.Context(), store.NewConnection{TenantID: s.Tenant.ID, ProjectID: s.Sales.ID,
		Name: "made with the app", AccountType: "tenant", AuthType: "authorization_code", MSTenant: s.Demo.Contoso.ID, AppID: id}); err != nil {
		t.Fatal(err)
	}
	admintest.WantStatus(t, admin.Post("/settings/apps/"+id+"/delete", nil), http.StatusConflict)
	if got, err := s.Store.AppRegistration(t.Context(), s.Tenant.ID, id); err != nil || got.Connections != 1 || len(got.Projects) != 1 {
		t.Fatalf("after the refused delete: %+v %v", got, err)
	}

	// A refused app is one item on the home page and one banner on the
	// page, for the tenant's admins only.
	if _, err := s.Store.SetAppFailure(t.Context(), s.Tenant.ID, id, store.AppFailure{Code: "AADSTS7000215",
		Summary: "Invalid client secret provided.", At: s.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	admintest.WantBody(t, admin.Get("/"), "“Acme daemon” is refused by Microsoft (AADSTS7000215)")
	admintest.WantBody(t, admin.Get("/settings/apps"), "Microsoft refuses “Acme daemon” (AADSTS7000215)", "Invalid client secret provided.")
	admintest.WantNotInBody(t, globex.Get("/"), "Acme daemon")
}
