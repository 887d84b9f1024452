package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
)

func TestSchemaCheckCachesAndRechecksFailures(t *testing.T) {
	url := testdb.Empty(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st := testdb.OpenStore(t, url, store.Options{})
	c := newSchemaCheck(st, func() time.Time { return now })
	ctx := context.Background()
	if err := c.ready(ctx); err == nil || !strings.Contains(err.Error(), "schema not current") {
		t.Fatalf("empty database: %v", err)
	}
	m, err := store.NewMigrator(url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if err := c.ready(ctx); err == nil {
		t.Fatal("a failed check was retried before the recheck interval")
	}
	now = now.Add(schemaRecheck)
	if err := c.ready(ctx); err != nil {
		t.Fatalf("after migrating and the interval: %v", err)
	}
	st.Close() // a current schema is not checked again
	if err := c.ready(ctx); err != nil {
		t.Fatalf("cached current schema rechecked: %v", err)
	}
}
