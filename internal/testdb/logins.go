package testdb

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Logins are the two logins of the least-privilege deployment (README,
// "Production") for one test database: App is a NOINHERIT member of
// broker_app only (BROKER_DATABASE_URL), System a NOINHERIT member of
// broker_system only (BROKER_SYSTEM_DATABASE_URL).
type Logins struct {
	App, System string // URLs
	AppRole     string // the app login's name
}

// LeastPrivilege creates the logins for dbURL (a database from New), dropped
// when t ends. Roles are cluster-wide, so each test gets its own names.
func LeastPrivilege(t testing.TB, dbURL string) Logins {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		t.Fatalf("testdb: Postgres does not answer at BROKER_TEST_DATABASE_URL (%s)", redact(AdminURL()))
	}
	defer admin.Close(context.WithoutCancel(ctx))
	suffix := randomHex(6)
	app, sys := "broker_rt_"+suffix, "broker_sys_"+suffix
	for _, stmt := range []string{
		fmt.Sprintf("CREATE ROLE %s LOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS IN ROLE broker_app", app),
		fmt.Sprintf("CREATE ROLE %s LOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS IN ROLE broker_system", sys),
	} {
		if _, err := admin.Exec(ctx, stmt); err != nil {
			t.Fatalf("testdb: %s: %v", stmt, err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, AdminURL())
		if err != nil {
			return
		}
		defer c.Close(ctx)
		for _, r := range []string{app, sys} {
			// Sessions of this test may still be closing; drop them first.
			c.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", r)
			c.Exec(ctx, "DROP ROLE IF EXISTS "+r)
		}
	})
	return Logins{App: asUser(dbURL, app), System: asUser(dbURL, sys), AppRole: app}
}

// asUser is raw with another user and no password (tests use trust auth).
func asUser(raw, user string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	u.User = url.User(user)
	return u.String()
}
