package adminapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/admin/admintest"
	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/webhooks"
)

type webhookOut struct {
	ID         string   `json:"id"`
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
	Enabled    bool     `json:"enabled"`
	BrokerWide bool     `json:"broker_wide"`
	Secret     string   `json:"secret"`
}

func TestWebhookEndpointsThroughTheAdminAPI(t *testing.T) {
	s := admintest.New(t)
	ctx := context.Background()
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	defer rcv.Close()
	adminKey := s.APIKey(t, s.Tenant.ID, "hooks-admin", true)
	tokenKey := s.APIKey(t, s.Tenant.ID, "tokens-only", false)
	salesAdmin := s.APIKey(t, s.Tenant.ID, "sales-admin", true, s.Sales.ID)

	// Bad input names the field and changes nothing.
	for body, field := range map[string]string{
		`{"url": "http://example.com/x"}`:                                        "url",
		`{"url": "https://10.0.0.7/x"}`:                                          "url",
		`{"url": "https://169.254.169.254/x"}`:                                   "url",
		`{"url": "` + rcv.URL + `/x", "event_types": ["connection.boom"]}`:       "event_types",
		`{"url": "` + rcv.URL + `/x", "project_ids": ["` + s.GlobexOp.ID + `"]}`: "project_ids",
	} {
		p := wantProblem(t, s.API(t, http.MethodPost, "/api/v1/admin/webhooks", adminKey, body), 422, "invalid_input")
		if p.Field != field {
			t.Errorf("%s: field %q, want %q", body, p.Field, field)
		}
	}
	if eps, _ := s.Store.WebhookEndpoints(ctx, s.Tenant.ID); len(eps) != 0 {
		t.Fatalf("refused input stored %d endpoints", len(eps))
	}
	wantProblem(t, s.API(t, http.MethodPost, "/api/v1/admin/webhooks", tokenKey, `{}`), 403, "forbidden")
	wantProblem(t, s.API(t, http.MethodPost, "/api/v1/admin/webhooks", salesAdmin, `{}`), 403, "forbidden")

	created := decode[webhookOut](t, s.API(t, http.MethodPost, "/api/v1/admin/webhooks", adminKey,
		`{"url": "`+rcv.URL+`/hook", "event_types": ["connection.status_changed"]}`))
	if !strings.HasPrefix(created.Secret, "whsec_") || created.BrokerWide || !created.Enabled {
		t.Fatalf("created %+v", created)
	}
	// The secret is never shown again.
	got := s.API(t, http.MethodGet, "/api/v1/admin/webhooks/"+created.ID, adminKey, "")
	if strings.Contains(got.Body, created.Secret) || strings.Contains(got.Body, "whsec_") {
		t.Fatal("the secret is shown after creation")
	}
	// Another tenant's admin does not see it.
	gilKey, _, _ := apikeys.Create(ctx, s.Store, apikeys.NewKey{TenantID: s.Globex.ID, Name: "g", Admin: true})
	wantProblem(t, s.API(t, http.MethodGet, "/api/v1/admin/webhooks/"+created.ID, gilKey, ""), 404, "webhook_not_found")

	// Test event, delivered by a worker; the endpoint's deliveries show it.
	admintest.WantStatus(t, s.API(t, http.MethodPost, "/api/v1/admin/webhooks/"+created.ID+"/test", adminKey, ""), 202)
	w := &webhooks.Worker{Store: s.Store, Guard: s.Webhooks.Guard, Now: func() time.Time { return time.Now().Add(time.Minute) }}
	if n, err := w.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("worker: %d %v", n, err)
	}
	if body := s.API(t, http.MethodGet, "/api/v1/admin/webhooks/"+created.ID, adminKey, "").Body; !strings.Contains(body, `"status":"delivered"`) ||
		!strings.Contains(body, `"event_type":"webhook.test"`) {
		t.Fatalf("deliveries: %s", body)
	}
	// Rotate: a new secret, the old one signing until the overlap ends.
	rot := s.API(t, http.MethodPost, "/api/v1/admin/webhooks/"+created.ID+"/rotate-secret", adminKey, "")
	if !strings.Contains(rot.Body, `"secret":"whsec_`) || strings.Contains(rot.Body, created.Secret) {
		t.Fatalf("rotate: %s", rot.Body)
	}
	// Disable, then a test is refused; replay needs a time.
	admintest.WantStatus(t, s.API(t, http.MethodPatch, "/api/v1/admin/webhooks/"+created.ID, adminKey, `{"enabled": false}`), 200)
	wantProblem(t, s.API(t, http.MethodPost, "/api/v1/admin/webhooks/"+created.ID+"/test", adminKey, ""), 409, "conflict")
	wantProblem(t, s.API(t, http.MethodPost, "/api/v1/admin/webhooks/"+created.ID+"/replay", adminKey, `{}`), 422, "invalid_input")

	// An operator key manages broker-wide endpoints, apart from the tenant's.
	opKey, _, err := apikeys.Create(ctx, s.Store, apikeys.NewKey{Name: "platform", Operator: true})
	if err != nil {
		t.Fatal(err)
	}
	wide := decode[webhookOut](t, s.API(t, http.MethodPost, "/api/v1/admin/webhooks", opKey,
		`{"url": "`+rcv.URL+`/ops", "event_types": ["broker.health_changed"]}`))
	if !wide.BrokerWide {
		t.Fatalf("operator endpoint %+v", wide)
	}
	if err := s.Store.AppendBrokerEvent(ctx, store.EventBrokerHealthChanged, map[string]any{"healthy": false}); err != nil {
		t.Fatal(err)
	}
	if ds, _ := s.Store.WebhookDeliveries(ctx, "", wide.ID, 10); len(ds) != 1 || ds[0].EventType != store.EventBrokerHealthChanged {
		t.Fatalf("broker-wide deliveries %+v", ds)
	}
	list := s.API(t, http.MethodGet, "/api/v1/admin/webhooks", adminKey, "")
	if strings.Contains(list.Body, wide.ID) {
		t.Fatal("a tenant lists the broker-wide endpoint")
	}
	admintest.WantStatus(t, s.API(t, http.MethodDelete, "/api/v1/admin/webhooks/"+created.ID, adminKey, ""), 204)
}
