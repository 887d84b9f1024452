package store

import (
	"context"
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
}

const apiKeyColumns = `id, coalesce(tenant_id::text, ''), name, prefix, secret_hash, project_ids::text[], scope, coalesce(created_by::text, ''), created_at, revoked_at, last_used_at`

func scanAPIKey(r pgx.CollectableRow) (APIKey, error) {
	var k APIKey
	return k, r.Scan(&k.ID, &k.TenantID, &k.Name, &k.Prefix, &k.SecretHash, &k.ProjectIDs, &k.Scope, &k.CreatedBy, &k.CreatedAt, &k.RevokedAt, &k.LastUsedAt)
}

// CreateAPIKey stores a key's hash. An operator key (scope "operator") has
// no tenant and is written through the cross-tenant path; any other key
// needs its tenant.
func (s *Store) CreateAPIKey(ctx context.Context, k APIKey) (APIKey, error) {
	var out APIKey
	scope := func(fn func(pgx.Tx) error) error { return s.inTenant(ctx, k.TenantID, fn) }
	if k.Scope == "operator" && k.TenantID == "" {
		scope = func(fn func(pgx.Tx) error) error { return s.acrossTenants(ctx, fn) }
	}
	err := scope(func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `INSERT INTO api_keys (tenant_id, name, prefix, secret_hash, project_ids, scope, created_by)
			VALUES (NULLIF($1, '')::uuid, $2, $3, $4, $5, $6, NULLIF($7, '')::uuid) RETURNING `+apiKeyColumns,
			k.TenantID, k.Name, k.Prefix, k.SecretHash, k.ProjectIDs, k.Scope, k.CreatedBy)
		if err != nil {
			return err
		}
		out, err = pgx.CollectExactlyOneRow(rows, scanAPIKey)
		return err
	})
	return out, mapErr("create api key", err)
}

// APIKeyByPrefix finds a key by its public prefix. The key itself names the
// tenant, so this lookup runs across tenants; the caller checks the hash.
func (s *Store) APIKeyByPrefix(ctx context.Context, prefix string) (APIKey, error) {
	var out APIKey
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE prefix = $1`, prefix)
		if err != nil {
			return err
		}
		out, err = pgx.CollectExactlyOneRow(rows, scanAPIKey)
		return err
	})
	return out, mapErr("api key by prefix", err)
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
		tag, err := tx.Exec(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1`, id, now)
		return notFoundIfNone("revoke api key", tag, err)
	})
}

// RevokedAPIKeysSince lists keys revoked at or after since, on any tenant, so
// every replica can drop them from its cache within a poll interval.
func (s *Store) RevokedAPIKeysSince(ctx context.Context, since time.Time) ([]string, error) {
	var ids []string
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id::text FROM api_keys WHERE revoked_at >= $1`, since)
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return ids, mapErr("revoked api keys", err)
}

// TouchAPIKeys records last use for many keys in one statement (batched by the caller).
func (s *Store) TouchAPIKeys(ctx context.Context, lastUsed map[string]time.Time) error {
	if len(lastUsed) == 0 {
		return nil
	}
	ids := make([]string, 0, len(lastUsed))
	ats := make([]time.Time, 0, len(lastUsed))
	for id, at := range lastUsed {
		ids = append(ids, id)
		ats = append(ats, at)
	}
	return s.acrossTenants(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE api_keys k SET last_used_at = GREATEST(coalesce(k.last_used_at, v.at), v.at)
			FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, at) WHERE k.id = v.id`, ids, ats)
		return mapErr("touch api keys", err)
	})
}
