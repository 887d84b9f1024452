package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/brokerhq/broker/internal/secrets"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
)

// The least-privilege deployment (README, "Production"), against real
// Postgres: the runtime login can never read across tenants by itself,
// whatever SQL it runs, while the broker still works through the separate
// system login.
func TestLeastPrivilegeRuntimeLoginCannotCrossTenants(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t) // two tenants with connections, a refresh token, client secrets
	logins := testdb.LeastPrivilege(t, f.url)

	// The broker runs on the two logins: tenant work and cross-tenant work both answer.
	ring, err := secrets.ParseRing(keyK1)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, logins.App, ring, store.Options{SystemURL: logins.System})
	if err != nil {
		t.Fatalf("open as the least-privilege logins: %v", err)
	}
	defer st.Close()
	if _, err := st.CreateTenant(ctx, "initech", "Initech"); err != nil { // across tenants
		t.Fatalf("cross-tenant work through the system login: %v", err)
	}
	if c, err := st.Connection(ctx, f.tenantA.ID, f.connA.ID); err != nil || c.Name != "mailbox" { // in a tenant
		t.Fatalf("tenant work through the runtime login: %+v, %v", c, err)
	}

	// Raw SQL as the runtime login, as injected SQL would run.
	c, err := pgx.Connect(ctx, logins.App)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	tables := rlsTables(t, f.url)
	if len(tables) < 10 {
		t.Fatalf("only %d tables with row-level security: %v", len(tables), tables)
	}
	mustExec(t, c, "SET ROLE broker_app")
	for _, table := range tables {
		n, err := countRows(ctx, c, table)
		switch {
		case isDenied(err):
		case err != nil:
			t.Fatalf("count %s: %v", table, err)
		case n != 0:
			t.Errorf("%s: %d rows visible without a tenant", table, n)
		}
	}
	for _, stmt := range []string{"SET ROLE broker_system", "SET SESSION AUTHORIZATION postgres", "SET ROLE postgres"} {
		if _, err := c.Exec(ctx, stmt); !isDenied(err) {
			t.Errorf("%s as the runtime login: %v, want permission denied", stmt, err)
		}
	}
	// RESET ROLE goes back to the login itself, which holds no privilege at
	// all (NOINHERIT): every table is closed to it.
	mustExec(t, c, "RESET ROLE")
	var who string
	if err := c.QueryRow(ctx, "SELECT current_user").Scan(&who); err != nil || who != logins.AppRole {
		t.Fatalf("after RESET ROLE current_user is %q (%v), want the login %q", who, err, logins.AppRole)
	}
	for _, table := range tables {
		if n, err := countRows(ctx, c, table); !isDenied(err) {
			t.Errorf("after RESET ROLE, %s: %d rows, %v; want permission denied", table, n, err)
		}
	}
	if _, err := c.Exec(ctx, "SET ROLE broker_system"); !isDenied(err) {
		t.Errorf("SET ROLE broker_system after RESET ROLE: %v, want permission denied", err)
	}
	// With a tenant set, broker_app sees that tenant's rows and no other's.
	mustExec(t, c, "SET ROLE broker_app")
	mustExec(t, c, "SELECT set_config('broker.tenant_id', '"+f.tenantA.ID+"', false)")
	var tenants int
	if err := c.QueryRow(ctx, "SELECT count(DISTINCT tenant_id) FROM connections").Scan(&tenants); err != nil || tenants != 1 {
		t.Fatalf("with tenant A set: %d tenants' connections visible (%v), want 1", tenants, err)
	}
}

// A deployment that says it splits the logins but gives the runtime login
// the keys anyway is refused at start-up, and so is one whose single login
// cannot do the cross-tenant work sign-in needs.
func TestLeastPrivilegeMisconfigurationFailsAtOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.New(t)
	logins := testdb.LeastPrivilege(t, url)
	ring, _ := secrets.ParseRing(keyK1)
	cases := []struct {
		name, app, system, want string
	}{
		{"superuser beside a system URL", url, logins.System, "can act as broker_system"},
		{"runtime login without a system URL", logins.App, "", "set BROKER_SYSTEM_DATABASE_URL"},
		{"system URL whose login is not broker_system", logins.App, logins.App, "cannot SET ROLE broker_system"},
	}
	for _, c := range cases {
		st, err := store.Open(ctx, c.app, ring, store.Options{SystemURL: c.system})
		if err == nil {
			st.Close()
			t.Errorf("%s: opened", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want it to say %q", c.name, err, c.want)
		}
	}
}

// rlsTables lists every table under row-level security, so a table added
// later is covered without editing this test.
func rlsTables(t *testing.T, url string) []string {
	t.Helper()
	c := rawConn(t, url)
	rows, err := c.Query(context.Background(),
		"SELECT relname FROM pg_class WHERE relkind = 'r' AND relrowsecurity AND relnamespace = 'public'::regnamespace ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func countRows(ctx context.Context, c *pgx.Conn, table string) (int, error) {
	var n int
	err := c.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()).Scan(&n)
	return n, err
}

func isDenied(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42501" // insufficient_privilege
}

func mustExec(t *testing.T, c *pgx.Conn, sql string) {
	t.Helper()
	if _, err := c.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
