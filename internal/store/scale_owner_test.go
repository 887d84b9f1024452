package store_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/secrets"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
)

// Deployed as the README says, migrations run as the database's owner, a
// login that is neither superuser nor BYPASSRLS (deploy/postgres-roles.sql):
// it may create pg_trgm (a trusted extension), the search view it owns sees
// the current tenant's rows (its policy), and a search in one tenant still
// never yields another's, through the index.
func TestSearchAsDeployedByANonSuperuserOwner(t *testing.T) {
	ctx := context.Background()
	owner := fmt.Sprintf("broker_own_%d", time.Now().UnixNano())
	admin := rawConn(t, testdb.AdminURL())
	mustExec(t, admin, "CREATE ROLE "+owner+" LOGIN NOSUPERUSER NOBYPASSRLS")
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), testdb.AdminURL())
		if err == nil {
			c.Exec(context.Background(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", owner)
			c.Exec(context.Background(), "DROP ROLE IF EXISTS "+owner)
			c.Close(context.Background())
		}
	})
	dbURL := testdb.Empty(t) // dropped before the role (cleanups run last first)
	u, _ := url.Parse(dbURL)
	mustExec(t, admin, "ALTER DATABASE "+strings.TrimPrefix(u.Path, "/")+" OWNER TO "+owner)
	ownerURL := *u
	ownerURL.User = url.User(owner)
	m, err := store.NewMigrator(ownerURL.String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatalf("migrations as a non-superuser owner: %v", err)
	}
	m.Close()

	logins := testdb.LeastPrivilege(t, dbURL)
	ring, _ := secrets.ParseRing(keyK1)
	st, err := store.Open(ctx, logins.App, ring, store.Options{SystemURL: logins.System})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var tenants []store.Tenant
	for _, slug := range []string{"acme", "globex"} {
		tn, err := st.CreateTenant(ctx, slug, slug)
		if err != nil {
			t.Fatal(err)
		}
		p, err := st.CreateProject(ctx, tn.ID, "Sales")
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			mustConn(t, st, tn.ID, p.ID, fmt.Sprintf("needle-%s-%d", slug, i), "s")
		}
		tenants = append(tenants, tn)
	}
	page, err := st.QueryConnections(ctx, store.ConnectionQuery{TenantID: tenants[0].ID, Search: "needle", Sort: "name"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range page.Rows {
		names = append(names, r.Name)
	}
	if got := strings.Join(names, " "); got != "needle-acme-0 needle-acme-1 needle-acme-2" {
		t.Fatalf("search in acme as deployed: %q", got)
	}
	counts, err := st.CountConnectionsByStatus(ctx, store.ConnectionQuery{TenantID: tenants[1].ID})
	if err != nil || counts["pending"]+counts["active"] != 3 {
		t.Fatalf("kept counts as deployed: %v %v", counts, err)
	}
	// The runtime login reads the view: its tenant, through the index when
	// the planner is told sequential scans cost too much to use.
	c, err := pgx.Connect(ctx, logins.App)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	err = pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		for _, s := range []string{"SET LOCAL ROLE broker_app", "SET LOCAL enable_seqscan = off"} {
			if _, err := tx.Exec(ctx, s); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, "SELECT set_config('broker.tenant_id', $1, true)", tenants[1].ID); err != nil {
			return err
		}
		var n int
		if _, err := tx.Exec(ctx, "SELECT set_config('broker.search', '%needle%', true)"); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM connection_search`).Scan(&n); err != nil || n != 3 {
			return fmt.Errorf("view in globex: %d rows, %v", n, err)
		}
		if _, err := tx.Exec(ctx, "SELECT set_config('broker.search', '%needle-acme%', true)"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `EXPLAIN SELECT id FROM connection_search`)
		if err != nil {
			return err
		}
		plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if !strings.Contains(strings.Join(plan, "\n"), "connections_search") {
			return fmt.Errorf("the view does not use the trigram index as deployed:\n%s", strings.Join(plan, "\n"))
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM connection_search`).Scan(&n); err != nil || n != 0 {
			return fmt.Errorf("globex's view yields %d of acme's rows (%v)", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
