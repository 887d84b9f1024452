package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/store"
)

// seedMany inserts n connections into tenant A's project with raw SQL (the
// superuser connection bypasses RLS), spread over statuses and names.
func seedMany(t testing.TB, url, tenantID, projectID string, n int) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, `INSERT INTO connections (tenant_id, project_id, name, account_type, auth_type, status, account_username, created_at)
		SELECT $1, $2, 'conn-' || lpad(i::text, 6, '0'), 'common', 'authorization_code',
		       (ARRAY['active','active','active','needs_reauth','pending','config_error','disabled','consent_required'])[1 + i % 8],
		       'user' || i || '@contoso.test', now() - (i || ' seconds')::interval
		FROM generate_series(1, $3) AS i`, tenantID, projectID, n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
}

func TestFirstPageOf100kUsesAnIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100,000 rows")
	}
	f := newFixture(t)
	seedMany(t, f.url, f.tenantA.ID, f.projectA.ID, 100_000)
	ctx := context.Background()
	queries := map[string]store.ConnectionQuery{
		"tenant newest":   {TenantID: f.tenantA.ID},
		"tenant by name":  {TenantID: f.tenantA.ID, Sort: "name"},
		"tenant broken":   {TenantID: f.tenantA.ID, Status: "needs_reauth"},
		"member projects": {TenantID: f.tenantA.ID, ProjectIDs: []string{f.projectA.ID}},
		"operator all":    {AllTenants: true},
	}
	for name, q := range queries {
		t.Run(name, func(t *testing.T) {
			sql, args, err := q.PageQuery()
			if err != nil {
				t.Fatal(err)
			}
			plan := explain(t, f, q, sql, args)
			if !strings.Contains(plan, "Index") || strings.Contains(plan, "Seq Scan on connections") || strings.Contains(plan, "Sort  (") {
				t.Fatalf("first page does not walk an index:\n%s", plan)
			}
		})
	}
	// And the page is right: 50 rows, newest first, and the cursor continues without overlap.
	p1, err := f.s.QueryConnections(ctx, store.ConnectionQuery{TenantID: f.tenantA.ID})
	if err != nil || len(p1.Rows) != 50 || p1.Next == "" {
		t.Fatalf("page 1: %d rows, next %q, %v", len(p1.Rows), p1.Next, err)
	}
	p2, err := f.s.QueryConnections(ctx, store.ConnectionQuery{TenantID: f.tenantA.ID, Cursor: p1.Next})
	if err != nil || len(p2.Rows) != 50 {
		t.Fatalf("page 2: %v", err)
	}
	if !p2.Rows[0].CreatedAt.Before(p1.Rows[49].CreatedAt) && p2.Rows[0].CreatedAt != p1.Rows[49].CreatedAt {
		t.Fatalf("page 2 starts after page 1 ends")
	}
	seen := map[string]bool{}
	for _, r := range append(p1.Rows, p2.Rows...) {
		if seen[r.ID] {
			t.Fatalf("row %s on both pages", r.ID)
		}
		seen[r.ID] = true
	}
	counts, err := f.s.CountConnectionsByStatus(ctx, store.ConnectionQuery{TenantID: f.tenantA.ID})
	if err != nil || counts["active"] != 37_500 || counts["needs_reauth"] != 12_500 {
		t.Fatalf("counts = %v, %v", counts, err)
	}
}

func explain(t testing.TB, f *fixture, q store.ConnectionQuery, sql string, args []any) string {
	t.Helper()
	ctx := context.Background()
	c := rawConn(t, f.url)
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
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
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

func TestListFiltersScopeAndPages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	support, _ := f.s.CreateProject(ctx, f.tenantA.ID, "Support")
	for i := range 7 {
		c := mustConn(t, f.s, f.tenantA.ID, support.ID, fmt.Sprintf("Support %d", i), "s")
		if i%2 == 0 {
			f.s.UpdateConnection(ctx, f.tenantA.ID, c.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
				return store.ConnectionUpdate{Status: &store.StatusEvent{Status: "needs_reauth", ErrorCode: "AADSTS70008"}}, nil
			})
		}
	}
	all := collectAll(t, f.s, store.ConnectionQuery{TenantID: f.tenantA.ID, Limit: 3})
	if len(all) != 8 {
		t.Fatalf("tenant A has %d, want 8 (7 support + mailbox)", len(all))
	}
	member := collectAll(t, f.s, store.ConnectionQuery{TenantID: f.tenantA.ID, ProjectIDs: []string{f.projectA.ID}})
	if len(member) != 1 || member[0].ID != f.connA.ID {
		t.Fatalf("member of Sales sees %d", len(member))
	}
	broken := collectAll(t, f.s, store.ConnectionQuery{TenantID: f.tenantA.ID, Status: "broken"})
	if len(broken) != 4 {
		t.Fatalf("broken = %d, want 4", len(broken))
	}
	search := collectAll(t, f.s, store.ConnectionQuery{TenantID: f.tenantA.ID, Search: "SUPPORT 3"})
	if len(search) != 1 || search[0].Name != "Support 3" {
		t.Fatalf("search = %v", search)
	}
	if got := collectAll(t, f.s, store.ConnectionQuery{TenantID: f.tenantA.ID, Search: "%"}); len(got) != 0 {
		t.Fatalf("search for a literal %% matched %d", len(got))
	}
	byName := collectAll(t, f.s, store.ConnectionQuery{TenantID: f.tenantA.ID, Sort: "name", Limit: 2})
	if byName[0].Name != "mailbox" || byName[1].Name != "Support 0" || byName[7].Name != "Support 6" {
		t.Fatalf("name order: %s %s %s", byName[0].Name, byName[1].Name, byName[7].Name)
	}
	ops := collectAll(t, f.s, store.ConnectionQuery{AllTenants: true})
	if len(ops) != 9 {
		t.Fatalf("operator sees %d, want 9", len(ops))
	}
	onlyB := collectAll(t, f.s, store.ConnectionQuery{AllTenants: true, OnlyTenant: f.tenantB.ID})
	if len(onlyB) != 1 || onlyB[0].TenantSlug != "globex" {
		t.Fatalf("operator filtered to B sees %v", onlyB)
	}
	// A tenant asking for another tenant's rows by filter still gets none.
	if got := collectAll(t, f.s, store.ConnectionQuery{TenantID: f.tenantA.ID, ProjectID: f.projectB.ID}); len(got) != 0 {
		t.Fatalf("tenant A filtered to B's project sees %d", len(got))
	}
	if _, err := f.s.QueryConnections(ctx, store.ConnectionQuery{TenantID: f.tenantA.ID, Cursor: "garbage!"}); err == nil {
		t.Fatal("bad cursor accepted")
	}
}

func collectAll(t *testing.T, s *store.Store, q store.ConnectionQuery) []store.ConnectionRow {
	t.Helper()
	return pageAll(t, func(cursor string) ([]store.ConnectionRow, string, error) {
		q.Cursor = cursor
		p, err := s.QueryConnections(context.Background(), q)
		return p.Rows, p.Next, err
	})
}

// pageAll follows a keyset listing's cursors to its end (failing if it
// does not end within 100 pages) and returns every row.
func pageAll[R any](t *testing.T, page func(cursor string) ([]R, string, error)) []R {
	t.Helper()
	var out []R
	cursor := ""
	for range 100 {
		rows, next, err := page(cursor)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rows...)
		if next == "" {
			return out
		}
		cursor = next
	}
	t.Fatal("paging does not end")
	return nil
}

func BenchmarkFirstPageOf100k(b *testing.B) {
	f := newFixtureTB(b)
	seedMany(b, f.url, f.tenantA.ID, f.projectA.ID, 100_000)
	ctx := context.Background()
	q := store.ConnectionQuery{TenantID: f.tenantA.ID}
	b.Run("page", func(b *testing.B) {
		for b.Loop() {
			if _, err := f.s.QueryConnections(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("status_counts", func(b *testing.B) {
		for b.Loop() {
			if _, err := f.s.CountConnectionsByStatus(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
	})
	broken := store.ConnectionQuery{TenantID: f.tenantA.ID, Status: "broken"}
	b.Run("page_broken", func(b *testing.B) {
		for b.Loop() {
			if _, err := f.s.QueryConnections(ctx, broken); err != nil {
				b.Fatal(err)
			}
		}
	})
}
