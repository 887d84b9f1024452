package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/brokerhq/broker/internal/store"
)

// countDrift lists the keys where connection_counts and a count(*) of
// connections disagree (read as the superuser, past RLS).
func countDrift(t *testing.T, c *pgx.Conn) []string {
	t.Helper()
	rows, err := c.Query(context.Background(), `
		WITH actual AS (SELECT tenant_id, project_id, status, auth_type, account_type, count(*) AS n
		                FROM connections GROUP BY 1, 2, 3, 4, 5),
		     kept AS (SELECT tenant_id, project_id, status, auth_type, account_type, n FROM connection_counts WHERE n <> 0)
		SELECT coalesce(a.status, k.status) || ': counted ' || coalesce(a.n, 0) || ', kept ' || coalesce(k.n, 0)
		FROM actual a FULL JOIN kept k USING (tenant_id, project_id, status, auth_type, account_type)
		WHERE a.n IS DISTINCT FROM k.n`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The kept counts equal count(*) after inserts (one by one and in bulk),
// status changes, moves between projects and deletes, also when many
// transactions do them at once and some roll back or deadlock.
func TestConnectionCountsMatchCountStar(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	su := rawConn(t, f.url)
	support, _ := f.s.CreateProject(ctx, f.tenantA.ID, "Support")
	seedMany(t, f.url, f.tenantA.ID, f.projectA.ID, 2000)
	seedMany(t, f.url, f.tenantB.ID, f.projectB.ID, 500)
	var made []store.Connection
	for i := range 20 {
		made = append(made, mustConn(t, f.s, f.tenantA.ID, support.ID, fmt.Sprintf("support-%d", i), "s"))
	}
	for i, c := range made[:10] {
		status := []string{"needs_reauth", "disabled", "active"}[i%3]
		if _, err := f.s.UpdateConnection(ctx, f.tenantA.ID, c.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
			return store.ConnectionUpdate{Status: &store.StatusEvent{Status: status}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range made[10:14] {
		if err := f.s.DeleteConnection(ctx, f.tenantA.ID, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	if d := countDrift(t, su); len(d) > 0 {
		t.Fatalf("after single writes: %v", d)
	}

	// Many transactions at once, as broker_app in tenant A: bulk inserts,
	// status changes and project moves of random rows, deletes; a third
	// roll back.
	pool, err := pgxpool.New(ctx, f.url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	projects := []string{f.projectA.ID, support.ID}
	statuses := []string{"active", "needs_reauth", "disabled", "consent_required", "pending"}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), 17))
			for i := range 12 {
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+store.AppRole); err != nil {
						return err
					}
					if _, err := tx.Exec(ctx, "SELECT set_config('broker.tenant_id', $1, true)", f.tenantA.ID); err != nil {
						return err
					}
					steps := []string{
						`INSERT INTO connections (tenant_id, project_id, name, account_type, auth_type, status)
						 SELECT $1, $2, 'w-' || gen_random_uuid(), 'common', 'authorization_code', $3 FROM generate_series(1, 5)`,
						`UPDATE connections SET status = $3, version = version + 1 WHERE id IN
						 (SELECT id FROM connections WHERE tenant_id = $1 ORDER BY random() LIMIT 3) AND $2::uuid IS NOT NULL`,
						`UPDATE connections SET project_id = $2 WHERE id IN
						 (SELECT id FROM connections WHERE tenant_id = $1 ORDER BY random() LIMIT 2) AND $3 <> ''`,
						`DELETE FROM connections WHERE id IN
						 (SELECT id FROM connections WHERE tenant_id = $1 ORDER BY random() LIMIT 2) AND $2::uuid IS NOT NULL AND $3 <> ''`,
					}
					for range 3 {
						if _, err := tx.Exec(ctx, steps[rnd.IntN(len(steps))], f.tenantA.ID,
							projects[rnd.IntN(len(projects))], statuses[rnd.IntN(len(statuses))]); err != nil {
							return err
						}
					}
					if i%3 == 0 {
						return errRollback
					}
					return nil
				})
				var pgErr *pgconn.PgError
				if err != nil && !errors.Is(err, errRollback) && !(errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "23505")) {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if d := countDrift(t, su); len(d) > 0 {
		t.Fatalf("after concurrent writes: %v", d)
	}

	// And what the list shows is that count, for a tenant, a member, an
	// operator, and with filters in the key.
	for name, tc := range map[string]struct {
		q     store.ConnectionQuery
		where string
	}{
		"tenant":   {store.ConnectionQuery{TenantID: f.tenantA.ID}, "tenant_id = '" + f.tenantA.ID + "'"},
		"member":   {store.ConnectionQuery{TenantID: f.tenantA.ID, ProjectIDs: []string{support.ID}}, "project_id = '" + support.ID + "'"},
		"project":  {store.ConnectionQuery{TenantID: f.tenantA.ID, ProjectID: f.projectA.ID, AuthType: "authorization_code"}, "project_id = '" + f.projectA.ID + "' AND auth_type = 'authorization_code'"},
		"operator": {store.ConnectionQuery{AllTenants: true}, "true"},
		"one":      {store.ConnectionQuery{AllTenants: true, OnlyTenant: f.tenantB.ID, AccountType: "common"}, "tenant_id = '" + f.tenantB.ID + "' AND account_type = 'common'"},
	} {
		got, err := f.s.CountConnectionsByStatus(ctx, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := su.Query(ctx, `SELECT status, count(*)::int FROM connections WHERE `+tc.where+` GROUP BY status`)
		want := map[string]int{}
		for rows.Next() {
			var st string
			var n int
			rows.Scan(&st, &n)
			want[st] = n
		}
		if rows.Err() != nil || fmt.Sprint(got) != fmt.Sprint(want) || len(got) == 0 {
			t.Errorf("%s: kept counts %v, count(*) %v %v", name, got, want, rows.Err())
		}
	}
	// A tenant's deletion takes its counts with it.
	if _, err := su.Exec(ctx, `DELETE FROM tenants WHERE id = $1`, f.tenantB.ID); err != nil {
		t.Fatal(err)
	}
	if d := countDrift(t, su); len(d) > 0 {
		t.Fatalf("after deleting a tenant: %v", d)
	}
}

var errRollback = errors.New("roll back")

// A search in tenant A never yields tenant B's rows, through the list or the
// view it uses, and the view yields nothing without a tenant.
func TestSearchStaysInTheTenant(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := range 3 {
		mustConn(t, f.s, f.tenantA.ID, f.projectA.ID, fmt.Sprintf("needle-a-%d", i), "s")
		mustConn(t, f.s, f.tenantB.ID, f.projectB.ID, fmt.Sprintf("needle-b-%d", i), "s")
	}
	for _, tc := range []struct {
		q    store.ConnectionQuery
		want string
	}{
		{store.ConnectionQuery{TenantID: f.tenantA.ID, Search: "NEEDLE"}, "needle-a-0 needle-a-1 needle-a-2"},
		{store.ConnectionQuery{TenantID: f.tenantB.ID, Search: "needle"}, "needle-b-0 needle-b-1 needle-b-2"},
		{store.ConnectionQuery{TenantID: f.tenantA.ID, Search: "needle-b"}, ""},
		{store.ConnectionQuery{TenantID: f.tenantA.ID, Search: "mailbox"}, "mailbox"},
		{store.ConnectionQuery{AllTenants: true, Search: "needle-"}, "needle-a-0 needle-a-1 needle-a-2 needle-b-0 needle-b-1 needle-b-2"},
	} {
		var names []string
		for _, r := range collectAll(t, f.s, store.ConnectionQuery{TenantID: tc.q.TenantID, AllTenants: tc.q.AllTenants, Search: tc.q.Search, Sort: "name"}) {
			names = append(names, r.Name)
		}
		if got := strings.Join(names, " "); got != tc.want {
			t.Errorf("search %q in %q: %q, want %q", tc.q.Search, tc.q.TenantID, got, tc.want)
		}
		counts, err := f.s.CountConnectionsByStatus(ctx, tc.q)
		if total := counts["active"] + counts["pending"]; err != nil || total != len(names) {
			t.Errorf("search %q counts %v (%v), want %d", tc.q.Search, counts, err, len(names))
		}
	}
	// The view itself, as the app role: its tenant's rows, or none. A
	// condition added from outside sees only those (the view is a security
	// barrier), and without a pattern it yields nothing.
	c := rawConn(t, f.url)
	for tenant, want := range map[string]int{f.tenantA.ID: 4, f.tenantB.ID: 4, "": 0} {
		var n int
		err := pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			tx.Exec(ctx, "SET LOCAL ROLE "+store.AppRole)
			tx.Exec(ctx, "SELECT set_config('broker.tenant_id', $1, true)", tenant)
			tx.Exec(ctx, "SELECT set_config('broker.search', '%', true)")
			return tx.QueryRow(ctx, `SELECT count(*) FROM connection_search`).Scan(&n)
		})
		if err != nil || n != want {
			t.Errorf("connection_search in tenant %q: %d rows (%v), want %d", tenant, n, err, want)
		}
	}
	// The fields' separator is no search.
	if _, err := f.s.QueryConnections(ctx, store.ConnectionQuery{TenantID: f.tenantA.ID, Search: "a\x1fb"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("search with U+001F: %v", err)
	}
}

// At a scale CI runs in seconds, the plans use the indexes that make them
// fast at a million: the first page walks an index in order, the counts
// read connection_counts (never connections),
// a selective search reads the trigram index, for a tenant (through the
// view) and for an operator.
func TestCountsAndSearchUseTheirIndexes(t *testing.T) {
	f := newFixture(t)
	seedMany(t, f.url, f.tenantA.ID, f.projectA.ID, 20_000)
	seedMany(t, f.url, f.tenantB.ID, f.projectB.ID, 5_000)
	for name, q := range map[string]store.ConnectionQuery{
		"tenant":   {TenantID: f.tenantA.ID},
		"member":   {TenantID: f.tenantA.ID, ProjectIDs: []string{f.projectA.ID}},
		"operator": {AllTenants: true},
	} {
		// The first page walks an index in the list's order and stops.
		sql, args, err := q.PageQuery()
		if err != nil {
			t.Fatal(err)
		}
		if plan := explain(t, f, q, sql, args); !strings.Contains(plan, "Index Scan") || strings.Contains(plan, "Seq Scan on connections") ||
			strings.Contains(plan, "Sort  (") {
			t.Errorf("%s first page does not walk an index:\n%s", name, plan)
		}
		sql, args = q.CountQuery()
		plan := explain(t, f, q, sql, args)
		if !strings.Contains(plan, "connection_counts") || strings.Contains(plan, " on connections") {
			t.Errorf("%s counts do not read connection_counts:\n%s", name, plan)
		}
	}
	for name, q := range map[string]store.ConnectionQuery{
		"tenant":   {TenantID: f.tenantA.ID, Search: "user1234@"},
		"operator": {AllTenants: true, Search: "user1234@"},
	} {
		for _, count := range []bool{false, true} {
			plan, byIndex := explainSearch(t, f, q, count)
			if !strings.Contains(plan, "Bitmap Index Scan on connections_search") || strings.Contains(plan, "Seq Scan on connections") ||
				(!q.AllTenants && !byIndex) {
				t.Errorf("%s search (counts: %v) does not use the trigram index:\n%s", name, count, plan)
			}
		}
	}
	// A pattern in every row filters the tenant's rows instead (at a million
	// that is the walk in the list's order that stops at a page).
	q := store.ConnectionQuery{TenantID: f.tenantA.ID, Search: "conn-"}
	if plan, byIndex := explainSearch(t, f, q, false); byIndex || strings.Contains(plan, "connection_search") {
		t.Errorf("a common pattern reads the trigram index:\n%s", plan)
	}
	if page, err := f.s.QueryConnections(context.Background(), q); err != nil || len(page.Rows) != 50 || page.Next == "" {
		t.Fatalf("common pattern's page: %d rows, %v", len(page.Rows), err)
	}
	page, err := f.s.QueryConnections(context.Background(), store.ConnectionQuery{TenantID: f.tenantA.ID, Search: "user1234@"})
	if err != nil || len(page.Rows) != 1 || page.Rows[0].AccountUsername != "user1234@contoso.test" {
		t.Fatalf("search page: %+v %v", page.Rows, err)
	}
}

// The change feed reads a change whose transaction began before another's
// but committed after the feed had read the other: the mark it hands on
// stays at the older transaction until that ends.
func TestChangeFeedSeesALateCommit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	early, late := f.connA, mustConn(t, f.s, f.tenantA.ID, f.projectA.ID, "second", "s")
	gone := mustConn(t, f.s, f.tenantA.ID, f.projectA.ID, "gone", "s")
	mark, err := f.s.ChangeMark(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The early transaction takes its ID first and stays open.
	c1 := rawConn(t, f.url)
	tx1, err := c1.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx1.Rollback(ctx)
	var xid1 uint64
	if err := tx1.QueryRow(ctx, `UPDATE connections SET version = version + 1 WHERE id = $1
		RETURNING change_xid::text::numeric`, early.ID).Scan(&xid1); err != nil {
		t.Fatal(err)
	}
	// A later one commits: a change and a deletion.
	c2 := rawConn(t, f.url)
	if _, err := c2.Exec(ctx, `UPDATE connections SET status = 'disabled', version = version + 1 WHERE id = $1`, late.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.s.DeleteConnection(ctx, f.tenantA.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	first, err := f.s.ConnectionChangesSince(ctx, mark)
	if err != nil {
		t.Fatal(err)
	}
	// (Reads may overlap: another test's open transaction holds the mark
	// back, so earlier changes can come again; never fewer.)
	if ids := stampIDs(first.Changed); !strings.Contains(ids, late.ID) || !slices.Contains(first.Deleted, gone.ID) {
		t.Fatalf("first read: changed %s, deleted %v; want %s and %s", ids, first.Deleted, late.ID, gone.ID)
	}
	if first.Next > xid1 {
		t.Fatalf("next mark %d is past the open transaction %d: its change would be missed", first.Next, xid1)
	}
	if err := tx1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	second, err := f.s.ConnectionChangesSince(ctx, first.Next)
	if err != nil {
		t.Fatal(err)
	}
	var committed int64
	su := rawConn(t, f.url)
	su.QueryRow(ctx, `SELECT version FROM connections WHERE id = $1`, early.ID).Scan(&committed)
	if !slices.Contains(second.Changed, store.ConnectionStamp{ID: early.ID, Version: committed, Status: early.Status}) {
		t.Fatalf("the late commit (version %d) was missed: %+v", committed, second)
	}
	// Use is not a change: the usage flush leaves a row's stamp alone.
	var before, after string
	su.QueryRow(ctx, `SELECT change_xid::text FROM connections WHERE id = $1`, early.ID).Scan(&before)
	if err := f.s.TouchConnections(ctx, map[string]time.Time{early.ID: time.Now()}); err != nil {
		t.Fatal(err)
	}
	su.QueryRow(ctx, `SELECT change_xid::text FROM connections WHERE id = $1`, early.ID).Scan(&after)
	if before == "" || before != after {
		t.Fatalf("a touch restamped the row: %q → %q", before, after)
	}
}

func stampIDs(s []store.ConnectionStamp) string {
	var ids []string
	for _, c := range s {
		ids = append(ids, c.ID)
	}
	return strings.Join(ids, " ")
}

// explainSearch plans a search's page (or counts) as the store runs it: in
// the scope's transaction, after searchPlan has chosen its way.
func explainSearch(t *testing.T, f *fixture, q store.ConnectionQuery, count bool) (string, bool) {
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
	if q, err = store.SearchPlan(ctx, tx, q); err != nil {
		t.Fatal(err)
	}
	sql, args, err := q.PageQuery()
	if count {
		sql, args = q.CountQuery()
	}
	if err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, "EXPLAIN "+sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n"), q.SearchesByIndex()
}
