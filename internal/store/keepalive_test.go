package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/store"
)

// seedKeepAlive inserts n connections spread as a busy broker's are: most
// active with a refresh token, a tenth in use with tokens expiring over the
// next hour, most idle with tokens that expired long ago and refreshed
// within the last 14 days, a few client-credentials rows with secrets.
func seedKeepAlive(t testing.TB, url, tenantID, projectID string, n int) {
	t.Helper()
	ctx := context.Background()
	c := rawConn(t, url)
	_, err := c.Exec(ctx, `INSERT INTO connections (tenant_id, project_id, name, account_type, auth_type, status,
			refresh_token_enc, client_secret_enc, client_secret_expires_at, access_token_expires_at, last_used_at,
			last_refresh_at, created_at)
		SELECT $1, $2, 'conn-' || i, 'common', CASE WHEN i % 50 = 0 THEN 'client_credentials' ELSE 'authorization_code' END,
		       (ARRAY['active','active','active','active','active','active','needs_reauth','disabled'])[1 + i % 8],
		       CASE WHEN i % 50 = 0 THEN NULL ELSE '\x00'::bytea END,
		       CASE WHEN i % 50 = 0 THEN '\x00'::bytea END,
		       CASE WHEN i % 50 = 0 THEN now() + (i % 400 || ' days')::interval END,
		       CASE WHEN i % 10 = 0 THEN now() + (i % 3600 || ' seconds')::interval
		            ELSE now() - (i % 30 || ' days')::interval END,
		       CASE WHEN i % 10 = 0 THEN now() - (i % 600 || ' seconds')::interval
		            WHEN i % 3 = 0 THEN now() - (i % 30 || ' days')::interval END,
		       now() - (i % (13 * 24 * 3600) || ' seconds')::interval,
		       now() - interval '200 days'
		FROM generate_series(1, $3) AS i`, tenantID, projectID, n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "ANALYZE connections"); err != nil {
		t.Fatal(err)
	}
}

// TestKeepAliveClaimUsesTheDueIndexes proves the batch claim at 100,000
// rows reads the three due indexes, never the whole table.
func TestKeepAliveClaimUsesTheDueIndexes(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100,000 rows")
	}
	f := newFixture(t)
	seedKeepAlive(t, f.url, f.tenantA.ID, f.projectA.ID, 100_000)
	ctx := context.Background()
	c := rawConn(t, f.url)
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+store.SystemRole); err != nil {
		t.Fatal(err)
	}
	var plan []string
	rows, err := tx.Query(ctx, "EXPLAIN "+store.ClaimDueSQL, time.Now(), time.Hour.Seconds(), (10 * time.Minute).Seconds(),
		(14 * 24 * time.Hour).Seconds(), (14 * 24 * time.Hour).Seconds(), []string{}, 16, time.Hour.Seconds())
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	text := strings.Join(plan, "\n")
	for _, index := range []string{"connections_token_expiry", "connections_last_refresh", "connections_due_secret"} {
		if !strings.Contains(text, index) {
			t.Errorf("the claim does not use %s", index)
		}
	}
	if strings.Contains(text, "Seq Scan on connections") {
		t.Errorf("the claim scans the table")
	}
	if t.Failed() {
		t.Fatalf("plan:\n%s", text)
	}
}
