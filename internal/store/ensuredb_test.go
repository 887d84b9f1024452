package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
)

// `broker demo` on a machine with Postgres but no "broker" database creates it.
func TestEnsureDatabaseCreatesAMissingOne(t *testing.T) {
	ctx := context.Background()
	var b [6]byte
	rand.Read(b[:])
	name := "broker_ensure_" + hex.EncodeToString(b[:])
	u, err := url.Parse(testdb.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Skipf("no Postgres: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize())
		admin.Close(context.Background())
	})
	u.Path = "/" + name
	created, err := store.EnsureDatabase(ctx, u.String())
	if err != nil || !created {
		t.Fatalf("first: created %v, %v", created, err)
	}
	if err := store.CheckReachable(ctx, u.String()); err != nil {
		t.Fatal(err)
	}
	if created, err = store.EnsureDatabase(ctx, u.String()); err != nil || created {
		t.Fatalf("second: created %v, %v", created, err)
	}
	if _, err := store.EnsureDatabase(ctx, "postgres://postgres:x@127.0.0.1:1/broker?sslmode=disable"); err == nil {
		t.Fatal("an unreachable server passed")
	}
}
