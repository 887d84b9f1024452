package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// APIKey is a caller's key. Only the SHA-256 of its secret part is stored.
type APIKey struct {
	ID         string
	TenantID   string
	Name       string
	Prefix     string
	SecretHash []byte
	ProjectIDs []string // nil: every project
	Scope      string   // token | admin
	CreatedBy  string
	CreatedAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
	// Rate and Burst are the key's own rate limit (requests per second, and
	// how many may come at once above it); nil: the server's default
	// (BROKER_API_KEY_RATE, BROKER_API_KEY_BURST).
	Rate  *float64
	Burst *int
}

const apiKeyColumns = `id, coalesce(tenant_id::text, ''), name, prefix, secret_hash, project_ids::text[], scope, coalesce(created_by::text, ''), created_at, revoked_at, last_used_at, rate_limit, rate_burst`

func scanAPIKey(r pgx.CollectableRow) (APIKey, error) {
	var k APIKey
	return k, r.Scan(&k.ID, &k.TenantID, &k.Name, &k.Prefix, &k.SecretHash, &k.ProjectIDs, &k.Scope, &k.CreatedBy, &k.CreatedAt, &k.RevokedAt, &k.LastUsedAt, &k.Rate, &k.Burst)
}

// ListAPIKeys lists a tenant's keys, newest first.
func (s *Store) ListAPIKeys(ctx context.Context, tenantID string) ([]APIKey, error) {
	var out []APIKey
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys ORDER BY created_at DESC`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanAPIKey)
		return err
	})
	return out, mapErr("list api keys", err)
}

// RevokeAPIKey revokes a key of the tenant; revoking twice is not an error.
func (s *Store) RevokeAPIKey(ctx context.Context, tenantID, id string, now time.Time) error {
	return s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		// Only the first revocation is an event: revoking twice changes nothing.
		rows, err := tx.Query(ctx, `UPDATE api_keys k SET revoked_at = coalesce(k.revoked_at, $2) FROM api_keys prev
			WHERE k.id = $1 AND prev.id = k.id RETURNING prev.revoked_at IS NULL, k.id, coalesce(k.tenant_id::text, ''), k.name, k.prefix, k.secret_hash,
			k.project_ids::text[], k.scope, coalesce(k.created_by::text, ''), k.created_at, k.revoked_at, k.last_used_at`, id, now)
		if err != nil {
			return mapErr("revoke api key", err)
		}
		var first bool
		var k APIKey
		got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (APIKey, error) {
			return k, r.Scan(&first, &k.ID, &k.TenantID, &k.Name, &k.Prefix, &k.SecretHash, &k.ProjectIDs, &k.Scope,
				&k.CreatedBy, &k.CreatedAt, &k.RevokedAt, &k.LastUsedAt)
		})
		if err != nil {
			return mapErr("revoke api key", err)
		}
		if len(got) == 0 {
			return fmt.Errorf("store: revoke api key: %w", ErrNotFound)
		}
		if !first {
			return nil
		}
		return appendEvent(ctx, tx, apiKeyEvent(EventAPIKeyRevoked, got[0]), s.now())
	})
}
