package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/store"
)

// Connect sessions are tenant rows: found by token hash across tenants
// (the page's only way in), bound once, finished once, invisible to
// another tenant.
func TestConnectSessions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := time.Now()
	cs, err := f.s.CreateConnectSession(ctx, store.ConnectSession{TenantID: f.tenantA.ID, ProjectID: f.projectA.ID,
		TokenHash: []byte("hash-of-a-token-0123456789abcdef"), EndUser: store.EndUser{ID: "u-1"},
		Metadata: map[string]string{"plan": "pro"}, ExpiresAt: now.Add(time.Hour)})
	if err != nil || cs.Status != "pending" || cs.Metadata["plan"] != "pro" {
		t.Fatalf("create %+v, %v", cs, err)
	}
	if _, err := f.s.ConnectSession(ctx, f.tenantB.ID, cs.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("tenant B reads tenant A's session: %v", err)
	}
	got, err := f.s.ConnectSessionByTokenHash(ctx, []byte("hash-of-a-token-0123456789abcdef"))
	if err != nil || got.ID != cs.ID || got.TenantID != f.tenantA.ID {
		t.Fatalf("by token hash %+v, %v", got, err)
	}
	// A project of another tenant cannot be named (the foreign key holds the tenant).
	if _, err := f.s.CreateConnectSession(ctx, store.ConnectSession{TenantID: f.tenantA.ID, ProjectID: f.projectB.ID,
		TokenHash: []byte("other"), EndUser: store.EndUser{ID: "u-1"}, ExpiresAt: now.Add(time.Hour)}); err == nil {
		t.Fatal("a session in another tenant's project was stored")
	}
	// Bound once: the second browser loses, whoever is faster.
	if ok, err := f.s.BindConnectSession(ctx, f.tenantA.ID, cs.ID, []byte("browser-1"), now); !ok || err != nil {
		t.Fatalf("first bind %v %v", ok, err)
	}
	if ok, err := f.s.BindConnectSession(ctx, f.tenantA.ID, cs.ID, []byte("browser-2"), now); ok || err != nil {
		t.Fatalf("second bind %v %v", ok, err)
	}
	if ok, _ := f.s.FinishConnectSession(ctx, f.tenantA.ID, cs.ID, "completed", f.connA.ID, "", now); !ok {
		t.Fatal("finish")
	}
	if ok, _ := f.s.FinishConnectSession(ctx, f.tenantA.ID, cs.ID, "failed", "", "late", now); ok {
		t.Fatal("finished twice")
	}
	if r, err := f.s.RevokeConnectSession(ctx, f.tenantA.ID, cs.ID, now); err != nil || r.Status != "completed" || r.ConnectionID != f.connA.ID {
		t.Fatalf("revoking a finished session: %+v %v", r, err)
	}
	// Expired is what a pending session past its expiry reads as.
	old, _ := f.s.CreateConnectSession(ctx, store.ConnectSession{TenantID: f.tenantA.ID, ProjectID: f.projectA.ID,
		TokenHash: []byte("old"), EndUser: store.EndUser{ID: "u-1"}, ExpiresAt: now.Add(time.Minute)})
	if st := old.StatusAt(now.Add(2 * time.Minute)); st != "expired" {
		t.Fatalf("status %q", st)
	}
	if ok, _ := f.s.BindConnectSession(ctx, f.tenantA.ID, old.ID, []byte("late"), now.Add(2*time.Minute)); ok {
		t.Fatal("an expired session was bound")
	}
	// Housekeeping removes sessions long expired, of every tenant, and no other.
	if n, err := f.s.DeleteOldConnectSessions(ctx, now.Add(30*time.Minute)); err != nil || n != 1 {
		t.Fatalf("deleted %d (%v), want the one expired", n, err)
	}
	if _, err := f.s.ConnectSession(ctx, f.tenantA.ID, cs.ID); err != nil {
		t.Fatalf("an unexpired session was deleted: %v", err)
	}
}

// The connections list finds connections by their end user: the search
// text matches the end user's ID, email and name, the filter the ID exactly.
func TestConnectionListByEndUser(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.s.CreateConnection(ctx, store.NewConnection{TenantID: f.tenantA.ID, ProjectID: f.projectA.ID, Name: "dana",
		AccountType: "common", AuthType: "authorization_code",
		EndUser: store.EndUser{ID: "u-dana", Email: "dana@customer.test", DisplayName: "Dana Scully"}}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []store.ConnectionQuery{
		{TenantID: f.tenantA.ID, Search: "SCULLY"},
		{TenantID: f.tenantA.ID, Search: "customer.test"},
		{TenantID: f.tenantA.ID, Search: "u-da"},
		{TenantID: f.tenantA.ID, EndUserID: "u-dana"},
	} {
		page, err := f.s.QueryConnections(ctx, q)
		if err != nil || len(page.Rows) != 1 || page.Rows[0].EndUser.ID != "u-dana" {
			t.Fatalf("%+v: %d rows, %v", q, len(page.Rows), err)
		}
	}
	if page, _ := f.s.QueryConnections(ctx, store.ConnectionQuery{TenantID: f.tenantA.ID, EndUserID: "u-da"}); len(page.Rows) != 0 {
		t.Fatal("the end user filter matched a prefix")
	}
	if page, _ := f.s.QueryConnections(ctx, store.ConnectionQuery{TenantID: f.tenantB.ID, EndUserID: "u-dana"}); len(page.Rows) != 0 {
		t.Fatal("tenant B sees tenant A's end user")
	}
}
