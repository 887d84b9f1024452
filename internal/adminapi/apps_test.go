package adminapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/admin/admintest"
)

// TestAppRegistrationsThroughTheAdminAPI: a tenant admin key registers the
// tenant's own app (a wrong secret refused with Microsoft's code at the
// field, nothing stored), lists it without any secret, rotates its secret
// and deletes it; keys that are not the tenant's full admin are refused.
func TestAppRegistrationsThroughTheAdminAPI(t *testing.T) {
	s := admintest.New(t)
	ctx := context.Background()
	adminKey := s.APIKey(t, s.Tenant.ID, "apps-admin", true)
	salesAdmin := s.APIKey(t, s.Tenant.ID, "sales-admin", true, s.Sales.ID)
	tokenKey := s.APIKey(t, s.Tenant.ID, "tokens-only", false)
	daemon := s.Demo.DaemonApp
	body := func(secret string) string {
		return `{"display_name": "Daemon", "client_id": "` + daemon.ClientID + `", "home_tenant_id": "` + s.Demo.Contoso.ID +
			`", "audience": "single", "client_secret": "` + secret + `"}`
	}

	for b, field := range map[string]string{
		`{"client_id": "nope", "home_tenant_id": "` + s.Demo.Contoso.ID + `", "audience": "single", "client_secret": "x~y"}`: "client_id",
		body("wrong~secret-value"): "client_secret",
		body(daemon.ExpiredSecret): "client_secret",
		`{"client_id": "` + daemon.ClientID + `", "home_tenant_id": "` + s.Demo.Contoso.ID + `", "audience": "single"}`: "client_secret",
	} {
		p := wantProblem(t, s.API(t, http.MethodPost, "/api/v1/admin/app-registrations", adminKey, b), 422, "invalid_input")
		if p.Field != field {
			t.Errorf("%.80s: field %q, want %q", b, p.Field, field)
		}
	}
	wrong := s.API(t, http.MethodPost, "/api/v1/admin/app-registrations", adminKey, body("wrong~secret-value"))
	wantProblem(t, wrong, 422, "invalid_input")
	if !strings.Contains(wrong.Body, "AADSTS7000215") || strings.Contains(wrong.Body, "wrong~secret-value") {
		t.Errorf("a wrong secret: %s", wrong.Body)
	}
	if apps, _ := s.Store.AppRegistrations(ctx, s.Tenant.ID); len(apps) != 0 {
		t.Fatalf("refused input stored %d apps", len(apps))
	}
	wantProblem(t, s.API(t, http.MethodPost, "/api/v1/admin/app-registrations", salesAdmin, body(daemon.Secret)), 403, "forbidden")
	wantProblem(t, s.API(t, http.MethodGet, "/api/v1/admin/app-registrations", tokenKey, ""), 403, "forbidden")

	res := s.API(t, http.MethodPost, "/api/v1/admin/app-registrations", adminKey, body(daemon.Secret))
	admintest.WantStatus(t, res, http.StatusCreated)
	created := decode[struct {
		ID         string `json:"id"`
		ClientID   string `json:"client_id"`
		Credential string `json:"credential"`
	}](t, res)
	if created.ClientID != daemon.ClientID || created.Credential != "secret" || strings.Contains(res.Body, daemon.Secret) {
		t.Fatalf("created %s", res.Body)
	}
	list := s.API(t, http.MethodGet, "/api/v1/admin/app-registrations", adminKey, "")
	admintest.WantStatus(t, list, http.StatusOK)
	if !strings.Contains(list.Body, created.ID) || strings.Contains(list.Body, daemon.Secret) {
		t.Fatalf("list %s", list.Body)
	}
	// Another tenant's admin sees none of it.
	globex := s.APIKey(t, s.Globex.ID, "globex-admin", true)
	if other := s.API(t, http.MethodGet, "/api/v1/admin/app-registrations", globex, ""); strings.Contains(other.Body, created.ID) {
		t.Fatalf("another tenant lists the app: %s", other.Body)
	}
	wantProblem(t, s.API(t, http.MethodDelete, "/api/v1/admin/app-registrations/"+created.ID, globex, ""), 404, "app_not_found")

	rot := s.API(t, http.MethodPost, "/api/v1/admin/app-registrations/"+created.ID+"/rotate-credential", adminKey,
		`{"client_secret": "wrong~again-value"}`)
	if p := wantProblem(t, rot, 422, "invalid_input"); p.Field != "client_secret" {
		t.Errorf("rotate to a wrong secret: %+v", p)
	}
	admintest.WantStatus(t, s.API(t, http.MethodPost, "/api/v1/admin/app-registrations/"+created.ID+"/rotate-credential", adminKey,
		`{"client_secret": "`+daemon.Secret+`", "secret_expires": "2099-01-01"}`), http.StatusOK)
	admintest.WantStatus(t, s.API(t, http.MethodDelete, "/api/v1/admin/app-registrations/"+created.ID, adminKey, ""), http.StatusNoContent)
	if strings.Contains(s.Logs.String(), daemon.Secret) {
		t.Fatal("the log holds the app's secret")
	}
}
