package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The due condition, split in its three halves so each is a range scan of
// an index made for it (migrations 00002 and 00014):
//
//   - in use and expiring: last_used_at within UsedWithin and the access
//     token expiring within ExpiresWithin. The index is on the expiry;
//     a token is fetched before it is used, so an in-use row's expiry is
//     past its last use, and the scan starts UsedWithin (+ inUseSlack)
//     before now instead of at the first token that ever expired;
//   - idle grants: authorization-code rows not refreshed for IdleAfter, by
//     an index on coalesce(last_refresh_at, created_at);
//   - client secrets expiring within SecretWarning, by an index on the
//     expiry of active client-credentials rows.
//
// Each half locks its own candidates (FOR UPDATE SKIP LOCKED, so replicas
// claiming at once take different rows), and the statement returns up to
// $7 of them with their credentials: one query for a batch.
const claimDueSQL = `WITH due AS (
	SELECT id FROM connections
	WHERE status IN ('active', 'secret_expiring')
	  AND access_token_expires_at >= $1::timestamptz - ($2::float8 + $8::float8) * interval '1 second'
	  AND access_token_expires_at < $1 + $3 * interval '1 second'
	  AND last_used_at >= $1 - $2 * interval '1 second'` + claimable + `
	ORDER BY access_token_expires_at LIMIT $7 FOR UPDATE SKIP LOCKED
), idle AS (
	SELECT id FROM connections
	WHERE status IN ('active', 'secret_expiring') AND auth_type = 'authorization_code' AND refresh_token_enc IS NOT NULL
	  AND coalesce(last_refresh_at, created_at) < $1 - $4 * interval '1 second'` + claimable + `
	ORDER BY coalesce(last_refresh_at, created_at) LIMIT $7 FOR UPDATE SKIP LOCKED
), secret AS (
	SELECT id FROM connections
	WHERE status = 'active' AND auth_type = 'client_credentials'
	  AND client_secret_expires_at < $1 + $5 * interval '1 second'` + claimable + `
	ORDER BY client_secret_expires_at LIMIT $7 FOR UPDATE SKIP LOCKED
)
SELECT ` + connectionColumns + `, c.refresh_token_enc, c.client_secret_enc, c.access_token_enc,
	c.refresh_not_before, c.refresh_failures` + connectionFrom + `
WHERE c.id IN (SELECT id FROM due UNION SELECT id FROM idle UNION SELECT id FROM secret)
ORDER BY c.access_token_expires_at NULLS LAST LIMIT $7`

// claimable: not held off by a back-off, not leased, not handled already.
const claimable = `
	  AND (refresh_not_before IS NULL OR refresh_not_before <= $1)
	  AND (refresh_lease_until IS NULL OR refresh_lease_until <= clock_timestamp())
	  AND NOT (id = ANY($6::uuid[]))`

// inUseSlack widens the in-use scan for a token that expired a little
// before its last recorded use (clocks of replicas differ).
const inUseSlack = time.Hour

// scanDue reads a claim's rows and opens their secrets.
func (s *Store) scanDue(rows pgx.Rows) ([]Claim, error) {
	defer rows.Close()
	var out []Claim
	for rows.Next() {
		var c Claim
		var rt, cs, at []byte
		if err := rows.Scan(connectionFields(&c.Conn, &rt, &cs, &at, &c.State.NotBefore, &c.State.Failures)...); err != nil {
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

// ClaimDueConnection is ClaimDueConnections for one row, with the caller's
// lease holder: it reports whether it found a due connection.
func (s *Store) ClaimDueConnection(ctx context.Context, p DuePolicy, lease Lease, fn DueFunc) (Claim, bool, error) {
	claims, err := s.ClaimDueConnections(ctx, p, 1, lease, fn)
	if err != nil || len(claims) == 0 {
		return Claim{}, false, err
	}
	return claims[0], true, nil
}
