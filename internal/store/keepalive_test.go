package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/store"
)

// seedKeepAlive inserts n connections spread as a busy broker's are: most
// active with a refresh token, a tenth in use with tokens expiring over the
// next hour, most idle with tokens that expired long ago and refreshed
// within the last 30 days, a few client-credentials rows with secrets, a
// seventh held off by a not-before over the next hours. The trigger of
// migration 00017 computes each row's next_refresh_at as it goes in.
func seedKeepAlive(t testing.TB, url, tenantID, projectID string, n int) {
	t.Helper()
	ctx := context.Background()
	c := rawConn(t, url)
	_, err := c.Exec(ctx, `INSERT INTO connections (tenant_id, project_id, name, account_type, auth_type, status,
			refresh_token_enc, client_secret_enc, client_secret_expires_at, access_token_expires_at, last_used_at,
			last_refresh_at, created_at, refresh_not_before)
		SELECT $1, $2, 'conn-' || i, 'common', CASE WHEN i % 50 = 0 THEN 'client_credentials' ELSE 'authorization_code' END,
		       (ARRAY['active','active','active','active','active','secret_expiring','needs_reauth','disabled'])[1 + i % 8],
		       CASE WHEN i % 50 = 0 THEN NULL ELSE '\x00'::bytea END,
		       CASE WHEN i % 50 = 0 THEN '\x00'::bytea END,
		       CASE WHEN i % 50 = 0 THEN now() + (i % 400 || ' days')::interval END,
		       CASE WHEN i % 10 = 0 THEN now() + (i % 3600 || ' seconds')::interval
		            ELSE now() - (i % 30 || ' days')::interval END,
		       CASE WHEN i % 10 = 0 THEN now() - (i % 600 || ' seconds')::interval
		            WHEN i % 3 = 0 THEN now() - (i % 30 || ' days')::interval END,
		       now() - (i % (30 * 24 * 3600) || ' seconds')::interval,
		       now() - interval '200 days',
		       CASE WHEN i % 7 = 0 THEN now() + (i % 5 || ' hours')::interval END
		FROM generate_series(1, $3) AS i`, tenantID, projectID, n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "ANALYZE connections"); err != nil {
		t.Fatal(err)
	}
}

// explainClaim is the claim's plan as the keep-alive's role sees it.
func explainClaim(t *testing.T, url string, now time.Time, n int) string {
	t.Helper()
	ctx := context.Background()
	tx, err := rawConn(t, url).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+store.SystemRole); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, "EXPLAIN "+store.ClaimDueSQL, now, []string{}, n, time.Minute.Milliseconds())
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}

// TestKeepAliveClaimUsesTheDueIndex proves the batch claim reads the one
// due index, never the whole table, on a table ANALYZEd at 20,000 rows
// (the plan is the same at a million: a range scan under a LIMIT), for
// the keep-alive's batch sizes.
func TestKeepAliveClaimUsesTheDueIndex(t *testing.T) {
	f := newFixture(t)
	seedKeepAlive(t, f.url, f.tenantA.ID, f.projectA.ID, 20_000)
	for _, n := range []int{1, 16, 64, 256} {
		text := explainClaim(t, f.url, time.Now(), n)
		if !strings.Contains(text, "connections_next_refresh") {
			t.Errorf("batch %d: the claim does not use connections_next_refresh", n)
		}
		if !strings.Contains(text, "connections_pkey") {
			t.Errorf("batch %d: the lease does not find its rows by primary key", n)
		}
		if strings.Contains(text, "Seq Scan on connections") {
			t.Errorf("batch %d: the claim scans the table", n)
		}
		if t.Failed() {
			t.Fatalf("plan:\n%s", text)
		}
	}
}

// The column says exactly when a row is due: every row the three halves
// of the due condition take at a moment has next_refresh_at by then, and
// the only others are rows in use when written whose in-use window closes
// before they are claimed (the keep-alive's callback turns them down; see
// decide): none at all when claimed as they fall due.
func TestNextRefreshAtMatchesTheDueCondition(t *testing.T) {
	f := newFixture(t)
	seedKeepAlive(t, f.url, f.tenantA.ID, f.projectA.ID, 5_000)
	ctx := context.Background()
	c := rawConn(t, f.url)
	const due = `((status IN ('active', 'secret_expiring') AND access_token_expires_at < $1::timestamptz + interval '10 minutes'
			AND last_used_at >= $1 - interval '1 hour')
		OR (status IN ('active', 'secret_expiring') AND auth_type = 'authorization_code' AND refresh_token_enc IS NOT NULL
			AND coalesce(last_refresh_at, created_at) < $1 - interval '14 days')
		OR (status = 'active' AND auth_type = 'client_credentials' AND client_secret_expires_at < $1 + interval '14 days'))
		AND (refresh_not_before IS NULL OR refresh_not_before <= $1)`
	now := time.Now()
	for _, at := range []time.Duration{0, 30 * time.Minute, 2 * time.Hour, 10 * 24 * time.Hour, 40 * 24 * time.Hour} {
		t0 := now.Add(at)
		var dueRows, missed, extra, extraInUse int
		if err := c.QueryRow(ctx, `SELECT count(*) FILTER (WHERE `+due+`),
				count(*) FILTER (WHERE `+due+` AND (next_refresh_at IS NULL OR next_refresh_at > $1)),
				count(*) FILTER (WHERE NOT (`+due+`) AND next_refresh_at <= $1),
				count(*) FILTER (WHERE NOT (`+due+`) AND next_refresh_at <= $1 AND last_used_at < $1 - interval '1 hour')
			FROM connections`, t0).Scan(&dueRows, &missed, &extra, &extraInUse); err != nil {
			t.Fatal(err)
		}
		t.Logf("at +%s: %d due, %d missed, %d taken though not due (%d of them no longer in use)", at, dueRows, missed, extra, extraInUse)
		if dueRows == 0 {
			t.Errorf("at +%s: nothing due: the seed does not exercise the condition", at)
		}
		if at == 0 && extra != 0 {
			t.Errorf("now: %d rows taken though not due", extra)
		}
		if missed != 0 || extra != extraInUse {
			t.Errorf("at +%s: %d due rows missed, %d taken though due by no reason", at, missed, extra-extraInUse)
		}
	}
	// A write that changes an input moves the row: the usage flush's
	// last use, a refresh's new expiry, a status.
	var id string
	if err := c.QueryRow(ctx, `UPDATE connections SET last_used_at = NULL, last_refresh_at = now(),
		access_token_expires_at = now() + interval '30 minutes', refresh_not_before = NULL
		WHERE id = (SELECT id FROM connections WHERE status = 'active' AND auth_type = 'authorization_code' LIMIT 1)
		RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if err := f.s.TouchConnections(ctx, map[string]time.Time{id: now}); err != nil {
		t.Fatal(err)
	}
	next := func() *time.Time {
		var at *time.Time
		if err := c.QueryRow(ctx, `SELECT next_refresh_at FROM connections WHERE id = $1`, id).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	if at := next(); at == nil || at.Sub(now.Add(20*time.Minute)).Abs() > 5*time.Second {
		t.Fatalf("in use, expiring in 30 minutes: next refresh %v, want 20 minutes from now", at)
	}
	if _, err := c.Exec(ctx, `UPDATE connections SET status = 'needs_reauth' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if at := next(); at != nil {
		t.Fatalf("needs_reauth: next refresh %v, want none", at)
	}
}

// The claim leases in its own statement: concurrent claimers take
// different rows, a leased row is not taken again until its lease runs
// out (a replica that died holding it), then another claimer takes it and
// the first holder can no longer write.
func TestClaimDueLeasesInTheClaimingStatement(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	raw := rawConn(t, f.url)
	if _, err := raw.Exec(ctx, `UPDATE connections SET status = 'active', client_secret_expires_at = now() + interval '1 day'`); err != nil {
		t.Fatal(err)
	}
	policy := store.DuePolicy{Now: time.Now(), UsedWithin: time.Hour, ExpiresWithin: 10 * time.Minute,
		IdleAfter: 14 * 24 * time.Hour, SecretWarning: 14 * 24 * time.Hour}
	lease := store.Lease{Length: time.Minute}
	take := func(store.Connection, store.Credentials, store.RefreshState) (*store.TokenWrite, bool, error) {
		return nil, true, nil
	}
	first, err := f.s.ClaimDueConnections(ctx, policy, 1, lease, take)
	if err != nil || len(first) != 1 {
		t.Fatalf("first claim: %d rows, %v", len(first), err)
	}
	second, err := f.s.ClaimDueConnections(ctx, policy, 5, lease, take)
	if err != nil || len(second) != 1 || second[0].Conn.ID == first[0].Conn.ID {
		t.Fatalf("second claim: %v, %v; want the other row", second, err)
	}
	for _, c := range append(first, second...) {
		var holder string
		if err := raw.QueryRow(ctx, `SELECT refresh_lease_holder::text FROM connections WHERE id = $1`, c.Conn.ID).Scan(&holder); err != nil {
			t.Fatal(err)
		}
		if !c.Held || c.Holder == "" || holder != c.Holder || c.Creds.ClientSecret == "" {
			t.Fatalf("claim %s: held %v, holder %q, stored %q, client secret read %v", c.Conn.ID, c.Held, c.Holder, holder,
				c.Creds.ClientSecret != "")
		}
	}
	if again, err := f.s.ClaimDueConnections(ctx, policy, 5, lease, take); err != nil || len(again) != 0 {
		t.Fatalf("leased rows claimed again: %d, %v", len(again), err)
	}
	// The first holder's replica dies: its lease runs out.
	if _, err := raw.Exec(ctx, `UPDATE connections SET refresh_lease_until = now() - interval '1 second' WHERE id = $1`,
		first[0].Conn.ID); err != nil {
		t.Fatal(err)
	}
	taken, err := f.s.ClaimDueConnections(ctx, policy, 5, lease, take)
	if err != nil || len(taken) != 1 || taken[0].Conn.ID != first[0].Conn.ID || taken[0].Holder == first[0].Holder {
		t.Fatalf("after the lease ran out: %v, %v; want %s under a new holder", taken, err, first[0].Conn.ID)
	}
	_, err = f.s.FinishRefresh(ctx, first[0].Conn.TenantID, first[0].Conn.ID, first[0].Holder, store.TokenWrite{})
	if !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("the dead holder's write: %v, want ErrLeaseLost", err)
	}
	// A row the callback turns down is written and its lease given back.
	if _, err := raw.Exec(ctx, `UPDATE connections SET refresh_lease_until = NULL, refresh_lease_holder = NULL`); err != nil {
		t.Fatal(err)
	}
	nb := time.Now().Add(time.Hour)
	down, err := f.s.ClaimDueConnections(ctx, policy, 5, lease, func(store.Connection, store.Credentials, store.RefreshState) (*store.TokenWrite, bool, error) {
		return &store.TokenWrite{NotBefore: &nb}, false, nil
	})
	if err != nil || len(down) != 2 {
		t.Fatalf("turned down: %d, %v", len(down), err)
	}
	var leased int
	if err := raw.QueryRow(ctx, `SELECT count(*) FROM connections WHERE refresh_lease_holder IS NOT NULL
		OR next_refresh_at < $1`, nb).Scan(&leased); err != nil || leased != 0 {
		t.Fatalf("%d rows still leased or due before their not-before, %v", leased, err)
	}
}
