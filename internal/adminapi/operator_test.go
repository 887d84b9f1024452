package adminapi_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/brokerhq/broker/internal/admin/admintest"
	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/store"
)

// An operator key (no tenant) reads and acts across tenants through the
// admin API, and fetches no tokens.
func TestOperatorKeySpansTenants(t *testing.T) {
	s := admintest.New(t)
	key, _, err := apikeys.Create(context.Background(), s.Store, apikeys.NewKey{Name: "platform-bot", Operator: true})
	if err != nil {
		t.Fatal(err)
	}
	l := decode[list](t, s.API(t, http.MethodGet, "/api/v1/admin/connections", key, ""))
	if got := names(l); !slices.Equal(got, []string{"Daemon", "Globex ops", "Sales inbox", "Support inbox"}) {
		t.Fatalf("operator key lists %v", got)
	}
	admintest.WantStatus(t, s.API(t, http.MethodGet, "/api/v1/admin/connections/"+s.GlobexConn.ID, key, ""), 200)
	admintest.WantStatus(t, s.API(t, http.MethodPost, "/api/v1/admin/connections/"+s.GlobexConn.ID+"/disable", key, `{"reason":"incident 42"}`), 200)
	if c, err := s.Store.Connection(context.Background(), s.Globex.ID, s.GlobexConn.ID); err != nil || c.Status != "disabled" {
		t.Fatalf("globex connection %q, %v", c.Status, err)
	}
	ev, _ := s.Store.ListAudit(context.Background(), s.Globex.ID, store.AuditFilter{ConnectionID: s.GlobexConn.ID, ActorID: ""})
	found := false
	for _, e := range ev {
		if e.ActorType == "operator" && e.Reason == "incident 42" {
			found = true
		}
	}
	if !found {
		t.Fatalf("disable by the operator key not audited: %+v", ev)
	}
	// No tokens for operator keys: they belong to no tenant.
	wantProblem(t, s.API(t, http.MethodGet, "/api/v1/connections/"+s.SalesConn.ID+"/token", key, ""), 401, "unauthorized")
	// An operator key is not a tenant's, and a tenant key is not an operator's.
	if _, _, err := apikeys.Create(context.Background(), s.Store, apikeys.NewKey{TenantID: s.Tenant.ID, Name: "x", Operator: true}); err == nil {
		t.Fatal("operator key with a tenant accepted")
	}
	if keys, _ := s.Store.ListAPIKeys(context.Background(), s.Tenant.ID); slices.ContainsFunc(keys, func(k store.APIKey) bool { return k.Name == "platform-bot" }) {
		t.Fatal("a tenant lists the operator key")
	}
}
