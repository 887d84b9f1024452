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

// AddTokenUsage adds counts to the hourly summary, many rows in one
// statement. It runs across tenants because one flush carries every tenant's
// counts; each row names its tenant.
func (s *Store) AddTokenUsage(ctx context.Context, rows []TokenUsage) error {
	if len(rows) == 0 {
		return nil
	}
	n := len(rows)
	tenants, hours, keys, conns := make([]string, n), make([]time.Time, n), make([]string, n), make([]string, n)
	cached, refreshed, firsts, lasts := make([]int64, n), make([]int64, n), make([]time.Time, n), make([]time.Time, n)
	for i, r := range rows {
		tenants[i], hours[i], keys[i], conns[i] = r.TenantID, r.Hour, r.APIKeyID, r.ConnectionID
		cached[i], refreshed[i], firsts[i], lasts[i] = r.Cached, r.Refreshed, r.FirstAt, r.LastAt
	}
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO token_usage AS u (tenant_id, hour, api_key_id, connection_id, cached, refreshed, first_at, last_at)
			SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::uuid[], $5::bigint[], $6::bigint[],
			                     $7::timestamptz[], $8::timestamptz[])
			ON CONFLICT (tenant_id, hour, api_key_id, connection_id) DO UPDATE SET
			  cached = u.cached + EXCLUDED.cached, refreshed = u.refreshed + EXCLUDED.refreshed,
			  first_at = LEAST(u.first_at, EXCLUDED.first_at), last_at = GREATEST(u.last_at, EXCLUDED.last_at)`,
			tenants, hours, keys, conns, cached, refreshed, firsts, lasts)
		return err
	})
	return mapErr("add token usage", err)
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

// TouchConnections records when connections were last used, many in one
// statement (batched by the caller). It leaves version and updated_at alone:
// use is not a change, and replicas' caches must not be invalidated by it.
func (s *Store) TouchConnections(ctx context.Context, lastUsed map[string]time.Time) error {
	if len(lastUsed) == 0 {
		return nil
	}
	ids := make([]string, 0, len(lastUsed))
	ats := make([]time.Time, 0, len(lastUsed))
	for id, at := range lastUsed {
		ids = append(ids, id)
		ats = append(ats, at)
	}
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE connections c SET last_used_at = GREATEST(coalesce(c.last_used_at, v.at), v.at)
			FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, at) WHERE c.id = v.id`, ids, ats)
		return err
	})
	return mapErr("touch connections", err)
}
