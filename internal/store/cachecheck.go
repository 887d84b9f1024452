package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// ConnectionStamp is what a replica compares its cached copy of a connection
// against: any write through UpdateConnection bumps Version.
type ConnectionStamp struct {
	ID      string
	Version int64
	Status  string
}

// ConnectionStamps reads the stamps of the given connections, on any tenant;
// an ID with no row (deleted) is simply absent. Replicas poll it for the
// connections they cache, so a connection disabled, deleted or refreshed on
// another replica drops out of their caches within a poll. It is a primary
// key lookup per ID, cheap up to tens of thousands of cached connections.
func (s *Store) ConnectionStamps(ctx context.Context, ids []string) ([]ConnectionStamp, error) {
	var out []ConnectionStamp
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id::text, version, status FROM connections WHERE id = ANY($1::uuid[])`, ids)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ConnectionStamp, error) {
			var c ConnectionStamp
			return c, r.Scan(&c.ID, &c.Version, &c.Status)
		})
		return err
	})
	return out, mapErr("connection stamps", err)
}

// ActiveAPIKeyIDs returns those of ids that still exist and are not revoked,
// on any tenant: a cached key whose row went away with its tenant is dropped
// by the replica that checks (RevokedAPIKeysSince does not see deletions).
func (s *Store) ActiveAPIKeyIDs(ctx context.Context, ids []string) ([]string, error) {
	var out []string
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id::text FROM api_keys WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL`, ids)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return out, mapErr("active api keys", err)
}
