package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// GraphRule allows Graph requests through the proxy: Method ("*" for any)
// on PathPrefix and everything below it.
type GraphRule struct {
	Method     string
	PathPrefix string
}

// GraphPolicy returns a project's proxy allowlist; empty means no limit.
func (s *Store) GraphPolicy(ctx context.Context, tenantID, projectID string) ([]GraphRule, error) {
	var out []GraphRule
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT method, path_prefix FROM graph_policies
			WHERE project_id = $1 ORDER BY path_prefix, method`, projectID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (GraphRule, error) {
			var g GraphRule
			return g, r.Scan(&g.Method, &g.PathPrefix)
		})
		return err
	})
	return out, mapErr("graph policy", err)
}

// SetGraphPolicy replaces a project's proxy allowlist; no rules removes it.
func (s *Store) SetGraphPolicy(ctx context.Context, tenantID, projectID string, rules []GraphRule) error {
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM graph_policies WHERE project_id = $1`, projectID); err != nil {
			return err
		}
		for _, r := range rules {
			if _, err := tx.Exec(ctx, `INSERT INTO graph_policies (tenant_id, project_id, method, path_prefix)
				VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, tenantID, projectID, r.Method, r.PathPrefix); err != nil {
				return err
			}
		}
		return nil
	})
	return mapErr("set graph policy", err)
}

// GraphUsage counts the proxied requests one API key made for one
// connection in one hour that ended with one status. No body is stored.
type GraphUsage struct {
	TenantID        string
	Hour            time.Time // truncated to the hour, UTC
	APIKeyID        string
	ConnectionID    string
	Status          int
	Requests        int64
	BytesIn         int64 // request bodies forwarded to Graph
	BytesOut        int64 // response bodies returned to the caller
	FirstAt, LastAt time.Time
}

// ListGraphUsage lists a tenant's hourly proxy counts for a connection
// ("" for all), newest hour first.
func (s *Store) ListGraphUsage(ctx context.Context, tenantID, connectionID string, limit int) ([]GraphUsage, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var out []GraphUsage
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT tenant_id::text, hour, api_key_id::text, connection_id::text, status,
			  requests, bytes_in, bytes_out, first_at, last_at
			FROM graph_usage WHERE ($1 = '' OR connection_id = NULLIF($1, '')::uuid)
			ORDER BY hour DESC, api_key_id, connection_id, status LIMIT $2`, connectionID, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (GraphUsage, error) {
			var u GraphUsage
			var st int16
			err := r.Scan(&u.TenantID, &u.Hour, &u.APIKeyID, &u.ConnectionID, &st, &u.Requests, &u.BytesIn, &u.BytesOut,
				&u.FirstAt, &u.LastAt)
			u.Status = int(st)
			return u, err
		})
		return err
	})
	return out, mapErr("list graph usage", err)
}
