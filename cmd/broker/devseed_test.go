package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/devseed"
	"github.com/brokerhq/broker/internal/secrets"
	"github.com/brokerhq/broker/internal/store"
)

func TestDevSeedFillsDecryptableSpreadRows(t *testing.T) {
	env := dbEnv(t)
	if r := runCLI(t, env, "", "migrate", "up"); r.runErr != nil {
		t.Fatal(r.runErr)
	}
	oneLine(t, runCLI(t, env, "", "dev", "seed"), "--connections must be")
	r := runCLI(t, env, "", "dev", "seed", "--connections", "3000", "--tenants", "7", "--projects", "2")
	if r.runErr != nil || !strings.Contains(r.out, "seeded 3000 connections over 7 tenants") {
		t.Fatalf("output %q %v", r.out, r.runErr)
	}
	ctx := context.Background()
	c, err := pgx.Connect(ctx, env["BROKER_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var total, tenants, statuses, inUse, largest int
	if err := c.QueryRow(ctx, `SELECT count(*), count(DISTINCT tenant_id), count(DISTINCT status),
		count(*) FILTER (WHERE last_used_at > now() - interval '1 hour'),
		(SELECT max(n) FROM (SELECT count(*) AS n FROM connections GROUP BY tenant_id) x) FROM connections`).
		Scan(&total, &tenants, &statuses, &inUse, &largest); err != nil {
		t.Fatal(err)
	}
	if total != 3000 || tenants != 7 || statuses < 6 || inUse < 300 || inUse > 900 || largest < 3000/7*3/2 {
		t.Fatalf("spread: %d rows, %d tenants, %d statuses, %d in use, largest tenant %d", total, tenants, statuses, inUse, largest)
	}
	// A row reads back through the store with its secrets opened by the configured key.
	var tenantID, id string
	if err := c.QueryRow(ctx, `SELECT tenant_id, id FROM connections WHERE status = 'active'
		AND auth_type = 'authorization_code' AND access_token_enc IS NOT NULL LIMIT 1`).Scan(&tenantID, &id); err != nil {
		t.Fatal(err)
	}
	ring, _ := secrets.ParseRing(testKeys)
	st, err := store.Open(ctx, env["BROKER_DATABASE_URL"], ring, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	conn, creds, err := st.ConnectionWithCredentials(ctx, tenantID, id)
	if err != nil || creds.RefreshToken != devseed.NotFetchable || creds.AccessToken != "seeded-access-token-"+id || conn.ProjectName == "" {
		t.Fatalf("seeded row: %+v %+v %v", conn, creds, err)
	}
}
