package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The due condition lives in one column, next_refresh_at, which a trigger
// (migration 00017) recomputes from the row on every write that changes
// what the condition reads: the earliest of its three reasons, never
// before refresh_not_before:
//
//   - in use and expiring: the access token expires within ExpiresWithin
//     while the row was last used within UsedWithin;
//   - idle grant: an authorization-code row with a refresh token not
//     refreshed for IdleAfter;
//   - client secret expiring within SecretWarning (active
//     client-credentials rows).
//
// So a claim is one range scan of connections_next_refresh, the rows
// locked FOR UPDATE SKIP LOCKED (replicas claiming at once take different
// rows) and leased in the same statement: one query for a batch. The
// caller's DueFunc then says which reason holds (the windows may have
// moved since the row's last write).
const claimDueSQL = `WITH due AS (
	SELECT id FROM connections
	WHERE next_refresh_at <= $1
	  AND (refresh_lease_until IS NULL OR refresh_lease_until <= clock_timestamp())
	  AND NOT (id = ANY($2::uuid[]))
	ORDER BY next_refresh_at LIMIT $3 FOR UPDATE SKIP LOCKED
), leased AS (
	UPDATE connections c SET refresh_lease_holder = gen_random_uuid(),
	  refresh_lease_until = clock_timestamp() + $4 * interval '1 millisecond'
	WHERE c.id = ANY(ARRAY(SELECT id FROM due)) -- by the primary key, whatever the batch
	RETURNING c.*
)
SELECT ` + connectionColumns + `, c.refresh_token_enc, c.client_secret_enc, c.access_token_enc,
	c.refresh_not_before, c.refresh_failures, c.refresh_lease_holder::text
FROM leased c JOIN projects p ON p.id = c.project_id LEFT JOIN users u ON u.id = c.created_by
ORDER BY c.next_refresh_at`

// dueWindows are the policy's windows the trigger computes with.
type dueWindows struct{ usedWithin, expiresWithin, idleAfter, secretWarning time.Duration }

// syncDuePolicy makes the database's keepalive_policy row the caller's,
// recomputing every row's next_refresh_at when it changes: once per Store
// (then remembered), and a rewrite of the table only when the policy
// itself changed (tests; the server's policy is fixed).
func (s *Store) syncDuePolicy(ctx context.Context, tx pgx.Tx, p DuePolicy) error {
	w := dueWindows{p.UsedWithin, p.ExpiresWithin, p.IdleAfter, p.SecretWarning}
	if cur := s.duePolicy.Load(); cur != nil && *cur == w {
		return nil
	}
	tag, err := tx.Exec(ctx, `UPDATE keepalive_policy SET used_within = v.u, expires_within = v.e, idle_after = v.i,
		secret_warning = v.s
		FROM (SELECT $1 * interval '1 second' AS u, $2 * interval '1 second' AS e, $3 * interval '1 second' AS i,
		             $4 * interval '1 second' AS s) v
		WHERE (used_within, expires_within, idle_after, secret_warning) IS DISTINCT FROM (v.u, v.e, v.i, v.s)`,
		w.usedWithin.Seconds(), w.expiresWithin.Seconds(), w.idleAfter.Seconds(), w.secretWarning.Seconds())
	if err != nil {
		return fmt.Errorf("keep-alive policy: %w", err)
	}
	if tag.RowsAffected() > 0 {
		// Setting the column runs the trigger, which computes it anew.
		if _, err := tx.Exec(ctx, `UPDATE connections SET next_refresh_at = NULL`); err != nil {
			return fmt.Errorf("keep-alive policy: recompute: %w", err)
		}
	}
	s.duePolicy.Store(&w) // takes effect when the transaction commits; a rollback only costs a check again
	return nil
}

// scanDue reads a claim's rows and opens their secrets.
func (s *Store) scanDue(rows pgx.Rows) ([]Claim, error) {
	defer rows.Close()
	var out []Claim
	for rows.Next() {
		var c Claim
		var rt, cs, at []byte
		if err := rows.Scan(connectionFields(&c.Conn, &rt, &cs, &at, &c.State.NotBefore, &c.State.Failures, &c.Holder)...); err != nil {
			return nil, err
		}
		var err error
		if c.Creds.RefreshToken, err = s.ring.OpenString(rt, connPlace(&c.Conn, colRefreshToken)); err != nil {
			return nil, fmt.Errorf("open refresh token: %w", err)
		}
		if c.Creds.ClientSecret, err = s.ring.OpenString(cs, connPlace(&c.Conn, colClientSecret)); err != nil {
			return nil, fmt.Errorf("open client secret: %w", err)
		}
		if c.Creds.AccessToken, err = s.ring.OpenString(at, connPlace(&c.Conn, colAccessToken)); err != nil {
			return nil, fmt.Errorf("open access token: %w", err)
		}
		if c.Conn.AccessTokenExpiresAt != nil {
			c.Creds.AccessTokenExpiresAt = *c.Conn.AccessTokenExpiresAt
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ClaimDueConnection is ClaimDueConnections for one row: it reports
// whether it found a due connection.
func (s *Store) ClaimDueConnection(ctx context.Context, p DuePolicy, lease Lease, fn DueFunc) (Claim, bool, error) {
	claims, err := s.ClaimDueConnections(ctx, p, 1, lease, fn)
	if err != nil || len(claims) == 0 {
		return Claim{}, false, err
	}
	return claims[0], true, nil
}
