package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/store"
)

func TestShredConnectionStaysInItsTenant(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.s.ShredConnection(ctx, f.tenantA.ID, f.connB.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("tenant A shredding B's connection: %v", err)
	}
	gone, err := f.s.ShredConnection(ctx, f.tenantA.ID, f.connA.ID)
	if err != nil || gone.Name != "mailbox" || !gone.HasRefreshToken {
		t.Fatalf("shred: %+v %v", gone, err)
	}
	if _, err := f.s.Connection(ctx, f.tenantA.ID, f.connA.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after shred: %v", err)
	}
	if _, err := f.s.Connection(ctx, f.tenantB.ID, f.connB.ID); err != nil {
		t.Fatalf("B's connection: %v", err)
	}
}

func TestConnectionTenantAndNames(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if id, err := f.s.ConnectionTenantID(ctx, f.connB.ID); err != nil || id != f.tenantB.ID {
		t.Fatalf("tenant of B's connection: %q %v", id, err)
	}
	if _, err := f.s.ConnectionTenantID(ctx, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	names, err := f.s.ConnectionNames(ctx, store.Scope{TenantID: f.tenantA.ID}, []string{f.connA.ID, f.connB.ID})
	if err != nil || len(names) != 1 || names[f.connA.ID] != "mailbox" {
		t.Fatalf("tenant A's names: %v %v", names, err)
	}
	if names, _ := f.s.ConnectionNames(ctx, store.Scope{AllTenants: true}, []string{f.connA.ID, f.connB.ID}); len(names) != 2 {
		t.Fatalf("operator's names: %v", names)
	}
}

func TestStatusBeforeAndApprovalSetting(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	set := func(ev store.StatusEvent) {
		if _, err := f.s.UpdateConnection(ctx, f.tenantA.ID, f.connA.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
			return store.ConnectionUpdate{Status: &ev}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	set(store.StatusEvent{Status: "needs_reauth", ErrorCode: "AADSTS70008", Reason: "expired"})
	set(store.StatusEvent{Status: "disabled", Reason: "by ada"})
	ev, found, err := f.s.StatusBefore(ctx, f.tenantA.ID, f.connA.ID, "disabled")
	if err != nil || !found || ev.Status != "needs_reauth" || ev.ErrorCode != "AADSTS70008" {
		t.Fatalf("before disabled: %+v %v %v", ev, found, err)
	}
	if _, found, _ := f.s.StatusBefore(ctx, f.tenantB.ID, f.connA.ID, "disabled"); found {
		t.Fatal("tenant B reads A's history")
	}
	if err := f.s.SetRequireApproval(ctx, f.tenantA.ID, true); err != nil {
		t.Fatal(err)
	}
	a, _ := f.s.Tenant(ctx, f.tenantA.ID)
	b, _ := f.s.Tenant(ctx, f.tenantB.ID)
	if !a.RequireApproval || b.RequireApproval {
		t.Fatalf("approval: A %v, B %v", a.RequireApproval, b.RequireApproval)
	}
}

func TestCallersAndKeyUsage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k1, _ := f.s.CreateAPIKey(ctx, store.APIKey{TenantID: f.tenantA.ID, Name: "one", Prefix: "brk_k1", SecretHash: make([]byte, 32), Scope: "token"})
	k2, _ := f.s.CreateAPIKey(ctx, store.APIKey{TenantID: f.tenantA.ID, Name: "two", Prefix: "brk_k2", SecretHash: make([]byte, 32), Scope: "token"})
	now := time.Now().UTC().Truncate(time.Hour)
	rows := []store.TokenUsage{
		{TenantID: f.tenantA.ID, Hour: now.Add(-2 * time.Hour), APIKeyID: k1.ID, ConnectionID: f.connA.ID, Cached: 5, Refreshed: 1, FirstAt: now.Add(-2 * time.Hour), LastAt: now.Add(-2 * time.Hour)},
		{TenantID: f.tenantA.ID, Hour: now, APIKeyID: k1.ID, ConnectionID: f.connA.ID, Cached: 2, FirstAt: now, LastAt: now.Add(time.Minute)},
		{TenantID: f.tenantA.ID, Hour: now.Add(-time.Hour), APIKeyID: k2.ID, ConnectionID: f.connA.ID, Cached: 1, FirstAt: now.Add(-time.Hour), LastAt: now.Add(-time.Hour)},
		{TenantID: f.tenantA.ID, Hour: now.Add(-30 * 24 * time.Hour), APIKeyID: k2.ID, ConnectionID: f.connA.ID, Cached: 100, FirstAt: now.Add(-30 * 24 * time.Hour), LastAt: now.Add(-30 * 24 * time.Hour)},
	}
	if err := f.s.AddTokenUsage(ctx, rows); err != nil {
		t.Fatal(err)
	}
	callers, err := f.s.ConnectionCallers(ctx, f.tenantA.ID, f.connA.ID, now.Add(-7*24*time.Hour), 10)
	if err != nil || len(callers) != 2 || callers[0].KeyName != "one" || callers[0].Total() != 8 || callers[0].Refreshed != 1 ||
		callers[1].KeyName != "two" || callers[1].Total() != 1 {
		t.Fatalf("callers: %+v %v", callers, err)
	}
	if c, _ := f.s.ConnectionCallers(ctx, f.tenantB.ID, f.connA.ID, time.Time{}, 10); len(c) != 0 {
		t.Fatal("tenant B sees A's callers")
	}
	last, err := f.s.LastCallers(ctx, store.Scope{TenantID: f.tenantA.ID}, []string{f.connA.ID, f.connB.ID})
	if err != nil || len(last) != 1 || last[f.connA.ID].KeyName != "one" {
		t.Fatalf("last callers: %+v %v", last, err)
	}
	usage, err := f.s.APIKeyUsage(ctx, f.tenantA.ID, now.Add(-7*24*time.Hour))
	if err != nil || usage[k1.ID].Tokens != 8 || usage[k2.ID].Tokens != 1 || !usage[k1.ID].LastAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("key usage: %+v %v", usage, err)
	}
}

// An empty tenant is not "every tenant": spanning tenants is asked for by name.
func TestEmptyScopeCoversNothing(t *testing.T) {
	f := newFixture(t)
	if _, err := f.s.ConnectionNames(context.Background(), store.Scope{}, []string{f.connA.ID}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("zero scope: err = %v, want ErrNotFound", err)
	}
}
