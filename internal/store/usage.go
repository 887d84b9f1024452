package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// TokenUsage counts the tokens one API key was handed for one connection in
// one hour. No token is stored.
type TokenUsage struct {
	TenantID     string
	Hour         time.Time // truncated to the hour, UTC
	APIKeyID     string
	ConnectionID string
	Cached       int64 // served from a cache (memory or Postgres)
	Refreshed    int64 // served right after a refresh at Microsoft
	FirstAt      time.Time
	LastAt       time.Time
}

// TokenUsageFilter narrows ListTokenUsage; empty fields match everything.
type TokenUsageFilter struct {
	ConnectionID string
	APIKeyID     string
	Since        *time.Time
	Limit        int
}

// ListTokenUsage lists a tenant's hourly token counts, newest hour first.
func (s *Store) ListTokenUsage(ctx context.Context, tenantID string, f TokenUsageFilter) ([]TokenUsage, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	var out []TokenUsage
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT tenant_id::text, hour, api_key_id::text, connection_id::text, cached, refreshed, first_at, last_at
			FROM token_usage
			WHERE ($1 = '' OR connection_id = NULLIF($1, '')::uuid) AND ($2 = '' OR api_key_id = NULLIF($2, '')::uuid)
			  AND ($3::timestamptz IS NULL OR hour >= $3)
			ORDER BY hour DESC, api_key_id, connection_id LIMIT $4`, f.ConnectionID, f.APIKeyID, f.Since, f.Limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (TokenUsage, error) {
			var u TokenUsage
			return u, r.Scan(&u.TenantID, &u.Hour, &u.APIKeyID, &u.ConnectionID, &u.Cached, &u.Refreshed, &u.FirstAt, &u.LastAt)
		})
		return err
	})
	return out, mapErr("list token usage", err)
}
