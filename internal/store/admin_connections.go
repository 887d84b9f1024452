package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Scope is whose rows a read covers: one tenant, or every tenant for a
// platform operator. Spanning tenants is asked for by name, never implied by
// an empty tenant: the zero Scope covers nothing (inTenant refuses it).
type Scope struct {
	TenantID   string
	AllTenants bool
}

// StatusBefore returns the latest recorded status of the connection other
// than skip (e.g. the status before it was disabled); false when there is none.
func (s *Store) StatusBefore(ctx context.Context, tenantID, connID, skip string) (StatusEvent, bool, error) {
	var e StatusEvent
	found := false
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT status, reason, error_code, trace_id, correlation_id FROM connection_events
			WHERE connection_id = $1 AND status <> $2 ORDER BY at DESC, id DESC LIMIT 1`, connID, skip).
			Scan(&e.Status, &e.Reason, &e.ErrorCode, &e.TraceID, &e.CorrelationID)
		if err == pgx.ErrNoRows {
			return nil
		}
		found = err == nil
		return err
	})
	return e, found, mapErr("status before", err)
}

// ShredConnection overwrites a connection's secret columns and deletes it
// (its flows and status history go with it by cascade) in one transaction,
// and returns the connection as it was. Its ciphertexts are bound to the row
// (secrets.Place), so no copy of one opens in another row or tenant; what
// Postgres keeps until VACUUM and what backups hold still opens with the
// ring's key, which only rotating that key retires.
func (s *Store) ShredConnection(ctx context.Context, tenantID, id string) (Connection, error) {
	var c Connection
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		c, err = scanConnection(tx.QueryRow(ctx, `SELECT `+connectionColumns+connectionFrom+` WHERE c.id = $1 FOR UPDATE OF c`, id))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE connections SET refresh_token_enc = NULL, client_secret_enc = NULL,
			access_token_enc = NULL, access_token_expires_at = NULL, version = version + 1 WHERE id = $1`, id); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM connections WHERE id = $1`, id)
		if err := notFoundIfNone("shred connection", tag, err); err != nil {
			return err
		}
		return appendEvent(ctx, tx, connectionEvent(EventConnectionDeleted, c), s.now())
	})
	return c, mapErr("shred connection", err)
}

// CallerUsage is how many tokens one API key fetched for a connection.
type CallerUsage struct {
	APIKeyID   string
	KeyName    string // "" when the key was deleted with its tenant's data
	KeyPrefix  string
	KeyRevoked bool
	Cached     int64
	Refreshed  int64
	FirstAt    time.Time
	LastAt     time.Time
}

// Total is every token the key was handed.
func (u CallerUsage) Total() int64 { return u.Cached + u.Refreshed }

// ConnectionCallers sums token_usage per API key for one connection since a
// time, most recent caller first.
func (s *Store) ConnectionCallers(ctx context.Context, tenantID, connID string, since time.Time, limit int) ([]CallerUsage, error) {
	var out []CallerUsage
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT u.api_key_id::text, coalesce(k.name, ''), coalesce(k.prefix, ''), k.revoked_at IS NOT NULL,
			sum(u.cached)::bigint, sum(u.refreshed)::bigint, min(u.first_at), max(u.last_at)
			FROM token_usage u LEFT JOIN api_keys k ON k.id = u.api_key_id
			WHERE u.connection_id = $1 AND u.hour >= $2
			GROUP BY u.api_key_id, k.name, k.prefix, k.revoked_at
			ORDER BY max(u.last_at) DESC LIMIT $3`, connID, since.UTC().Truncate(time.Hour), limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (CallerUsage, error) {
			var u CallerUsage
			return u, r.Scan(&u.APIKeyID, &u.KeyName, &u.KeyPrefix, &u.KeyRevoked, &u.Cached, &u.Refreshed, &u.FirstAt, &u.LastAt)
		})
		return err
	})
	return out, mapErr("connection callers", err)
}

// LastCaller is the API key that most recently fetched a connection's token.
type LastCaller struct {
	APIKeyID, KeyName, KeyPrefix string
	At                           time.Time
}

// LastCallers finds the latest caller of each of ids (a page of the list):
// one index probe per connection.
func (s *Store) LastCallers(ctx context.Context, sc Scope, ids []string) (map[string]LastCaller, error) {
	out := map[string]LastCaller{}
	if len(ids) == 0 {
		return out, nil
	}
	err := s.inScope(ctx, sc, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT c.id::text, x.api_key_id::text, coalesce(k.name, ''), coalesce(k.prefix, ''), x.last_at
			FROM unnest($1::uuid[]) AS c(id)
			CROSS JOIN LATERAL (SELECT u.api_key_id, u.last_at FROM token_usage u WHERE u.connection_id = c.id
			                    ORDER BY u.hour DESC, u.last_at DESC LIMIT 1) x
			LEFT JOIN api_keys k ON k.id = x.api_key_id`, ids)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var lc LastCaller
			if err := rows.Scan(&id, &lc.APIKeyID, &lc.KeyName, &lc.KeyPrefix, &lc.At); err != nil {
				return err
			}
			out[id] = lc
		}
		return rows.Err()
	})
	return out, mapErr("last callers", err)
}

// KeyUsage is how many tokens a key fetched in a window, and when it last did.
type KeyUsage struct {
	Tokens int64
	LastAt time.Time
}

// APIKeyUsage sums the tokens each of the tenant's keys fetched since a time.
func (s *Store) APIKeyUsage(ctx context.Context, tenantID string, since time.Time) (map[string]KeyUsage, error) {
	out := map[string]KeyUsage{}
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT api_key_id::text, sum(cached + refreshed)::bigint, max(last_at) FROM token_usage
			WHERE tenant_id = $1 AND hour >= $2 GROUP BY api_key_id`, tenantID, since.UTC().Truncate(time.Hour))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var u KeyUsage
			if err := rows.Scan(&id, &u.Tokens, &u.LastAt); err != nil {
				return err
			}
			out[id] = u
		}
		return rows.Err()
	})
	return out, mapErr("api key usage", err)
}

// ConnectionNames maps connection IDs to names, for pages that list events
// of connections; deleted ones are absent.
func (s *Store) ConnectionNames(ctx context.Context, sc Scope, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	err := s.inScope(ctx, sc, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id::text, name FROM connections WHERE id = ANY($1::uuid[])`, ids)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, name string
			if err := rows.Scan(&id, &name); err != nil {
				return err
			}
			out[id] = name
		}
		return rows.Err()
	})
	return out, mapErr("connection names", err)
}
