package conntest

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// AssertNoPlaintext reads every text, bytea, jsonb and array column of every
// table as the database owner, around row-level security, the way a dump
// would, and fails if any of the values appears in plaintext (or as hex).
func AssertNoPlaintext(t testing.TB, dbURL string, values ...string) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "SELECT set_config('broker.all_tenants', 'on', false)"); err != nil {
		t.Fatal(err)
	}
	rows, err := c.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND data_type IN ('text', 'bytea', 'jsonb', 'ARRAY')`)
	if err != nil {
		t.Fatal(err)
	}
	type col struct{ table, column string }
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (col, error) {
		var c col
		return c, r.Scan(&c.table, &c.column)
	})
	if err != nil || len(cols) < 20 {
		t.Fatalf("only %d columns to scan: %v", len(cols), err)
	}
	checked := 0
	for _, v := range values {
		if len(v) < 8 {
			t.Fatalf("AssertNoPlaintext: %q is too short to look for", v)
		}
	}
	for _, cl := range cols {
		rows, err := c.Query(ctx, fmt.Sprintf(`SELECT %q::text FROM %q`, cl.column, cl.table))
		if err != nil {
			t.Fatalf("%s.%s: %v", cl.table, cl.column, err)
		}
		vals, err := pgx.CollectRows(rows, pgx.RowTo[*string])
		if err != nil {
			t.Fatalf("%s.%s: %v", cl.table, cl.column, err)
		}
		for _, got := range vals {
			if got == nil {
				continue
			}
			checked++
			for _, v := range values {
				if strings.Contains(*got, v) || strings.Contains(*got, hex.EncodeToString([]byte(v))) {
					t.Errorf("%s.%s holds a secret in plaintext", cl.table, cl.column)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("AssertNoPlaintext read no values")
	}
}

// Raw connects as the database URL's own user, bypassing the app role, for
// tests that tamper with rows the way an attacker with database access could.
func Raw(t testing.TB, dbURL string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	if _, err := c.Exec(context.Background(), "SELECT set_config('broker.all_tenants', 'on', false)"); err != nil {
		t.Fatal(err)
	}
	return c
}
