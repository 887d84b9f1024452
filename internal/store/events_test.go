package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/store"
)

func eventTypes(t *testing.T, s *store.Store, tenantID, connID string) []string {
	t.Helper()
	evs, err := s.Events(context.Background(), store.EventQuery{TenantID: tenantID, ConnectionID: connID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func setStatus(t *testing.T, s *store.Store, c store.Connection, ev store.StatusEvent) {
	t.Helper()
	if _, err := s.UpdateConnection(context.Background(), c.TenantID, c.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
		return store.ConnectionUpdate{Status: &ev}, nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestEventsFollowEveryChange walks a connection through its life and an
// API key through its own: each change writes its events, in order.
func TestEventsFollowEveryChange(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.connA
	setStatus(t, f.s, c, store.StatusEvent{Status: "active"})
	setStatus(t, f.s, c, store.StatusEvent{Status: "needs_reauth", ErrorCode: "AADSTS50173",
		Reason: "The user's grant was revoked.", TraceID: "trace-1", CorrelationID: "corr-1"})
	setStatus(t, f.s, c, store.StatusEvent{Status: "disabled", Reason: "Disabled by ann"})
	setStatus(t, f.s, c, store.StatusEvent{Status: "active"})
	setStatus(t, f.s, c, store.StatusEvent{Status: "secret_expiring"})
	setStatus(t, f.s, c, store.StatusEvent{Status: "secret_expiring"}) // no change, no event
	if _, err := f.s.ShredConnection(ctx, c.TenantID, c.ID); err != nil {
		t.Fatal(err)
	}
	got := eventTypes(t, f.s, c.TenantID, c.ID)
	want := []string{"connection.created", "connection.status_changed",
		"connection.status_changed", "connection.status_changed", "connection.disabled",
		"connection.status_changed", "connection.enabled", "connection.status_changed", "connection.secret_expiring",
		"connection.deleted"}
	if !slices.Equal(got, want) {
		t.Fatalf("events\n got %v\nwant %v", got, want)
	}
	evs, _ := f.s.Events(ctx, store.EventQuery{TenantID: c.TenantID, ConnectionID: c.ID, Types: []string{"connection.status_changed"}})
	var d store.ConnectionEventData
	if err := json.Unmarshal(evs[1].Data, &d); err != nil {
		t.Fatal(err)
	}
	if d.Change == nil || d.Change.From != "active" || d.Change.To != "needs_reauth" || d.Change.AADSTS != "AADSTS50173" ||
		d.Change.TraceID != "trace-1" || d.Change.CorrelationID != "corr-1" || d.Connection.ProjectName != "Sales" {
		t.Fatalf("status change payload: %+v %+v", d.Change, d.Connection)
	}
	// No secret in any payload: the fixture's client secret and refresh token.
	all, _ := f.s.Events(ctx, store.EventQuery{TenantID: c.TenantID, Limit: 1000})
	for _, e := range all {
		if strings.Contains(string(e.Data), secretA) || strings.Contains(string(e.Data), rtA) {
			t.Fatalf("event %s carries a secret: %s", e.Type, e.Data)
		}
	}
	// Tenant B sees none of A's events.
	if n := len(eventTypes(t, f.s, f.tenantB.ID, c.ID)); n != 0 {
		t.Fatalf("tenant B sees %d of A's events", n)
	}
}

func TestAPIKeyEventsAndRevokingTwice(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k, err := f.s.CreateAPIKey(ctx, store.APIKey{TenantID: f.tenantA.ID, Name: "svc", Prefix: "brk_evtest", SecretHash: []byte("h"), Scope: "token"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := f.s.RevokeAPIKey(ctx, f.tenantA.ID, k.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	evs, _ := f.s.Events(ctx, store.EventQuery{TenantID: f.tenantA.ID, Types: []string{"api_key.created", "api_key.revoked"}})
	if len(evs) != 2 || evs[0].Type != "api_key.created" || evs[1].Type != "api_key.revoked" {
		t.Fatalf("api key events: %+v", evs)
	}
	if strings.Contains(string(evs[0].Data), "secret_hash") || !strings.Contains(string(evs[0].Data), `"prefix": "brk_evtest"`) {
		t.Fatalf("api key payload: %s", evs[0].Data)
	}
	if err := f.s.RevokeAPIKey(ctx, f.tenantB.ID, k.ID, time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoking another tenant's key: %v", err)
	}
}

// TestStatusChangeAndEventCommitTogether fails the transaction after the
// status update and the event insert (a deferred trigger raises at
// COMMIT): neither the status nor the event remains.
func TestStatusChangeAndEventCommitTogether(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	raw := rawConn(t, f.url)
	if _, err := raw.Exec(ctx, `CREATE FUNCTION fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'injected failure at commit'; END $$;
		CREATE CONSTRAINT TRIGGER fail_status AFTER UPDATE ON connections DEFERRABLE INITIALLY DEFERRED
		FOR EACH ROW WHEN (NEW.status = 'needs_reauth') EXECUTE FUNCTION fail_at_commit()`); err != nil {
		t.Fatal(err)
	}
	before := eventTypes(t, f.s, f.tenantA.ID, f.connA.ID)
	_, err := f.s.UpdateConnection(ctx, f.tenantA.ID, f.connA.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
		return store.ConnectionUpdate{Status: &store.StatusEvent{Status: "needs_reauth", ErrorCode: "AADSTS50173"}}, nil
	})
	if err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("update: %v, want the injected failure", err)
	}
	c, err := f.s.Connection(ctx, f.tenantA.ID, f.connA.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status == "needs_reauth" {
		t.Fatal("the status change survived its failed transaction")
	}
	if after := eventTypes(t, f.s, f.tenantA.ID, f.connA.ID); !slices.Equal(after, before) {
		t.Fatalf("events changed by a failed transaction: %v → %v", before, after)
	}
	// The same change without the failure commits both.
	if _, err := raw.Exec(ctx, `DROP TRIGGER fail_status ON connections`); err != nil {
		t.Fatal(err)
	}
	setStatus(t, f.s, f.connA, store.StatusEvent{Status: "needs_reauth", ErrorCode: "AADSTS50173"})
	if after := eventTypes(t, f.s, f.tenantA.ID, f.connA.ID); len(after) != len(before)+1 || after[len(after)-1] != "connection.status_changed" {
		t.Fatalf("events after the committed change: %v", after)
	}
}

// TestEventFeedKeyset pages a tenant's events by cursor with a type filter.
func TestEventFeedKeyset(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := range 5 {
		st := "active"
		if i%2 == 0 {
			st = "needs_reauth"
		}
		setStatus(t, f.s, f.connA, store.StatusEvent{Status: st})
	}
	var seen []int64
	after := int64(0)
	for {
		page, err := f.s.Events(ctx, store.EventQuery{TenantID: f.tenantA.ID, After: after, Types: []string{"connection.status_changed"}, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if e.Type != "connection.status_changed" || e.ID <= after {
				t.Fatalf("page item %+v after %d", e, after)
			}
			seen = append(seen, e.ID)
			after = e.ID
		}
	}
	if len(seen) != 5 {
		t.Fatalf("paged %d status changes, want 5", len(seen))
	}
	// Scoped to another project: none.
	if page, _ := f.s.Events(ctx, store.EventQuery{TenantID: f.tenantA.ID, ProjectIDs: []string{f.projectB.ID}}); len(page) != 0 {
		t.Fatalf("events of another project: %d", len(page))
	}
}

func TestSignInReconnectAndApprovalEvents(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, err := f.s.CreateConnection(ctx, store.NewConnection{TenantID: f.tenantA.ID, ProjectID: f.projectA.ID, Name: "adele",
		AccountType: "common", AuthType: "authorization_code", Status: "awaiting_approval"})
	if err != nil {
		t.Fatal(err)
	}
	signIn := func() {
		rt := "a-refresh-token-PLAINTEXT"
		if _, err := f.s.UpdateConnection(ctx, c.TenantID, c.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
			return store.ConnectionUpdate{RefreshToken: &rt, Account: &store.Account{TID: "t", OID: "o", Username: "adele@contoso"},
				Status: &store.StatusEvent{Status: "awaiting_approval"}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	signIn()
	signIn()
	if _, err := f.s.UpdateConnection(ctx, c.TenantID, c.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
		return store.ConnectionUpdate{Status: &store.StatusEvent{Status: "active"}, Approve: &store.Approval{By: "ann"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	got := eventTypes(t, f.s, c.TenantID, c.ID)
	want := []string{"connection.created", "connection.signed_in", "connection.reconnected", "connection.approved", "connection.status_changed"}
	if !slices.Equal(got, want) {
		t.Fatalf("events\n got %v\nwant %v", got, want)
	}
}
