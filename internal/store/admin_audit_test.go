package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/store"
)

// seedFeed gives tenant A audit events, status changes and token usage
// interleaved in time, and tenant B one of each.
func seedFeed(t *testing.T, f *fixture) (keyID string) {
	t.Helper()
	ctx := context.Background()
	c := rawConn(t, f.url)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if _, err := c.Exec(ctx, `INSERT INTO audit_events (tenant_id, at, actor_type, actor_id, actor_label, action, connection_id, reason)
		SELECT $1, $2::timestamptz + (i || ' minutes')::interval, 'user', 'u1', 'ada@acme.test', 'connection.tested', $3, 'event ' || i
		FROM generate_series(1, 250) AS i`, f.tenantA.ID, base, f.connA.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, `INSERT INTO connection_events (tenant_id, connection_id, at, status, error_code)
		SELECT $1, $3, $2::timestamptz + (i * 7 || ' minutes')::interval, 'needs_reauth', 'AADSTS70008'
		FROM generate_series(1, 40) AS i`, f.tenantA.ID, base, f.connA.ID); err != nil {
		t.Fatal(err)
	}
	k, err := f.s.CreateAPIKey(ctx, store.APIKey{TenantID: f.tenantA.ID, Name: "billing-sync", Prefix: "brk_test00000001",
		SecretHash: make([]byte, 32), Scope: "token"})
	if err != nil {
		t.Fatal(err)
	}
	var usage []store.TokenUsage
	for i := range 6 {
		h := base.Add(time.Duration(i) * time.Hour)
		usage = append(usage, store.TokenUsage{TenantID: f.tenantA.ID, Hour: h, APIKeyID: k.ID, ConnectionID: f.connA.ID,
			Cached: int64(i + 1), FirstAt: h, LastAt: h.Add(time.Minute)})
	}
	usage = append(usage, store.TokenUsage{TenantID: f.tenantB.ID, Hour: base, APIKeyID: k.ID, ConnectionID: f.connB.ID,
		Cached: 9, FirstAt: base, LastAt: base})
	if err := f.s.AddTokenUsage(ctx, usage); err != nil {
		t.Fatal(err)
	}
	if err := f.s.AppendAudit(ctx, store.AuditEvent{TenantID: f.tenantB.ID, ActorType: "user", ActorLabel: "gil@globex.test",
		Action: "connection.deleted", ConnectionID: f.connB.ID}); err != nil {
		t.Fatal(err)
	}
	return k.ID
}

func feedAll(t *testing.T, s *store.Store, q store.FeedQuery) []store.FeedEntry {
	t.Helper()
	return pageAll(t, func(cursor string) ([]store.FeedEntry, string, error) {
		q.Cursor = cursor
		p, err := s.AuditFeed(context.Background(), q)
		return p.Entries, p.Next, err
	})
}

func TestAuditFeedMergesSourcesAndPages(t *testing.T) {
	f := newFixture(t)
	keyID := seedFeed(t, f)
	// Tenant A: 250 audit events, 40 status changes (and connA's first),
	// 6 hours of usage; paged 17 at a time.
	all := feedAll(t, f.s, store.FeedQuery{TenantID: f.tenantA.ID, Limit: 17})
	seen := map[string]bool{}
	counts := map[int]int{}
	for i, e := range all {
		id := fmt.Sprint(e.Source, "/", e.Key, "/", e.At.UnixNano())
		if seen[id] {
			t.Fatalf("%s twice", id)
		}
		seen[id] = true
		counts[e.Source]++
		if e.TenantID != f.tenantA.ID {
			t.Fatalf("tenant A's feed has %s's entry", e.TenantID)
		}
		if i > 0 && all[i-1].At.Before(e.At) {
			t.Fatalf("entry %d (%v) after %v: not newest first", i, e.At, all[i-1].At)
		}
	}
	if counts[store.SourceAudit] != 250 || counts[store.SourceUsage] != 6 || counts[store.SourceStatus] < 40 {
		t.Fatalf("counts per source: %v", counts)
	}
	// Filters.
	fetches := feedAll(t, f.s, store.FeedQuery{TenantID: f.tenantA.ID, Action: store.ActionTokenFetched})
	if len(fetches) != 6 || fetches[0].ActorLabel != "billing-sync" || fetches[0].Details["cached"] != float64(6) {
		t.Fatalf("token fetches: %d %+v", len(fetches), fetches[0])
	}
	byKey := feedAll(t, f.s, store.FeedQuery{TenantID: f.tenantA.ID, Actor: keyID})
	if len(byKey) != 6 {
		t.Fatalf("by key ID: %d", len(byKey))
	}
	byActor := feedAll(t, f.s, store.FeedQuery{TenantID: f.tenantA.ID, Actor: "ADA@"})
	if len(byActor) != 250 {
		t.Fatalf("by actor: %d", len(byActor))
	}
	since := time.Date(2026, 3, 1, 14, 0, 0, 0, time.UTC)
	until := since.Add(time.Hour)
	window := feedAll(t, f.s, store.FeedQuery{TenantID: f.tenantA.ID, Since: &since, Until: &until})
	for _, e := range window {
		if e.At.Before(since) || !e.At.Before(until) {
			t.Fatalf("%v outside the window", e.At)
		}
	}
	if len(window) != 60+8+1 { // minutes 120-179, status changes at 7-minute steps, one usage hour
		t.Fatalf("window: %d", len(window))
	}
	if got := feedAll(t, f.s, store.FeedQuery{TenantID: f.tenantA.ID, ConnectionID: f.connB.ID}); len(got) != 0 {
		t.Fatalf("tenant A filtered to B's connection sees %d", len(got))
	}
	// Operators see both tenants; one tenant when they filter.
	ops := feedAll(t, f.s, store.FeedQuery{AllTenants: true, Limit: 50})
	if len(ops) != len(all)+3 { // B: an hour of usage, a deletion, connB's first status
		t.Fatalf("operator sees %d, tenant A alone %d", len(ops), len(all))
	}
	onlyB := feedAll(t, f.s, store.FeedQuery{AllTenants: true, OnlyTenant: f.tenantB.ID})
	for _, e := range onlyB {
		if e.TenantID != f.tenantB.ID {
			t.Fatal("operator's tenant filter leaks")
		}
	}
	if _, err := f.s.AuditFeed(context.Background(), store.FeedQuery{TenantID: f.tenantA.ID, Cursor: "nope"}); err == nil {
		t.Fatal("bad cursor accepted")
	}
}

func TestAuditFeedWalksIndexes(t *testing.T) {
	f := newFixture(t)
	seedFeed(t, f)
	c := rawConn(t, f.url)
	ctx := context.Background()
	if _, err := c.Exec(ctx, `INSERT INTO audit_events (tenant_id, at, actor_type, action)
		SELECT $1, now() - (i || ' seconds')::interval, 'system', 'user.signed_in' FROM generate_series(1, 50000) AS i`, f.tenantA.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	for name, q := range map[string]store.FeedQuery{
		"tenant":   {TenantID: f.tenantA.ID},
		"operator": {AllTenants: true},
	} {
		for _, src := range []int{store.SourceAudit, store.SourceStatus, store.SourceUsage} {
			sql, args, ok := store.FeedSourceSQL(q, src, 101)
			if !ok {
				t.Fatalf("%s: source %d left out", name, src)
			}
			tx, err := c.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tx.Exec(ctx, "SET LOCAL ROLE "+store.AppRole)
			if q.AllTenants {
				tx.Exec(ctx, "SET LOCAL ROLE "+store.SystemRole)
			} else {
				tx.Exec(ctx, "SELECT set_config('broker.tenant_id', $1, true)", q.TenantID)
			}
			rows, err := tx.Query(ctx, "EXPLAIN "+sql, args...)
			if err != nil {
				t.Fatal(err)
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			tx.Rollback(ctx)
			if err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(lines, "\n")
			if src == store.SourceAudit && (!strings.Contains(plan, "Index") || strings.Contains(plan, "Sort  (")) {
				t.Fatalf("%s: audit events page does not walk an index:\n%s", name, plan)
			}
		}
	}
}

// An hour's token fetches sort at the end of the hour, after the events
// during it: the 12:00–13:00 summary is newer than the event at 12:59 and
// older than those of the next hour (13:00 and 13:01).
func TestAuditFeedUsageSortsAtTheEndOfItsHour(t *testing.T) {
	f := newFixture(t)
	seedFeed(t, f)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	since, until := base.Add(59*time.Minute), base.Add(62*time.Minute)
	got := feedAll(t, f.s, store.FeedQuery{TenantID: f.tenantA.ID, Since: &since, Until: &until})
	var order []string
	for _, e := range got {
		order = append(order, e.Action+"@"+e.At.UTC().Format("15:04"))
	}
	want := "connection.tested@13:01 connection.tested@13:00 token.fetched@13:00 connection.tested@12:59"
	if strings.Join(order, " ") != want {
		t.Fatalf("order %v, want %s", order, want)
	}
}
