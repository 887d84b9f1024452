package store

// Every query that spans tenants is in this file, and only here: each method
// below runs through acrossTenants (as broker_system, on its own login in a
// least-privilege deployment) and says, on its "Across tenants:" line, why it
// cannot run in one tenant. TestCrossTenantQueriesLiveInAcrossGo keeps the
// list: a new cross-tenant query, or one elsewhere, fails it until the list
// in across_test.go is changed too, so the change is visible in review.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/secrets"
)

// Housekeeping: abandoned connections.

// DeleteAbandonedConnections removes connections whose first sign-in never
// succeeded: still pending, created before createdBefore, and with no
// sign-in in progress (no unused flow alive at now). A reconnect never
// makes a row pending, so only new connections that were cancelled,
// failed or abandoned at Microsoft go. It returns how many were removed.
// Across tenants: housekeeping removes every tenant's abandoned new connections
// in one statement.
func (s *Store) DeleteAbandonedConnections(ctx context.Context, createdBefore, now time.Time) (int64, error) {
	var n int64
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		// Locked in tenant order: each deletion writes its tenant's
		// connection.deleted, whose per-tenant lock is then taken in that
		// order too. SKIP LOCKED: a row someone is changing is not abandoned.
		rows, err := tx.Query(ctx, `SELECT `+connectionColumns+connectionFrom+`
			WHERE c.status = 'pending' AND c.refresh_token_enc IS NULL AND c.created_at < $1
			  AND NOT EXISTS (SELECT 1 FROM oauth_flows f
			                  WHERE f.tenant_id = c.tenant_id AND f.connection_id = c.id
			                    AND f.used_at IS NULL AND f.expires_at > $2)
			ORDER BY c.tenant_id, c.id FOR UPDATE OF c SKIP LOCKED`, createdBefore, now)
		if err != nil {
			return err
		}
		gone, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Connection, error) { return scanConnection(r) })
		if err != nil {
			return err
		}
		for _, c := range gone {
			if _, err := tx.Exec(ctx, `DELETE FROM connections WHERE id = $1`, c.ID); err != nil {
				return err
			}
			if err := appendEvent(ctx, tx, connectionEvent(EventConnectionDeleted, c), s.now()); err != nil {
				return err
			}
		}
		n = int64(len(gone))
		return nil
	})
	return n, mapErr("delete abandoned connections", err)
}

// Admin views: operators see every tenant.

// Across tenants: an operator's admin views, actions and connections list
// cover every tenant; everyone else's run in their tenant.
func (s *Store) inScope(ctx context.Context, sc Scope, fn func(pgx.Tx) error) error {
	if sc.AllTenants {
		return s.acrossTenants(ctx, fn)
	}
	return s.inTenant(ctx, sc.TenantID, fn)
}

// ConnectionTenantID finds the tenant of a connection on any tenant, so an
// operator's request can then be served inside that tenant like anyone's.
// Across tenants: an operator acting on a connection by ID learns its tenant
// here, then acts in it.
func (s *Store) ConnectionTenantID(ctx context.Context, id string) (string, error) {
	var tenantID string
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT tenant_id::text FROM connections WHERE id = $1`, id).Scan(&tenantID)
	})
	return tenantID, mapErr("connection tenant", err)
}

// SetRequireApproval turns the tenant's "connections need approval" on or
// off. The app role may not write tenants (its policy's WITH CHECK is
// false), so this one named statement runs across tenants, by ID.
// Across tenants: only broker_system may write tenants rows (broker_app's
// policy there is WITH CHECK false), so a tenant session can never rewrite a
// tenant row; the WHERE names the one tenant.
func (s *Store) SetRequireApproval(ctx context.Context, tenantID string, on bool) error {
	return s.acrossTenants(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE tenants SET require_approval = $2 WHERE id = $1`, tenantID, on)
		return notFoundIfNone("set require approval", tag, err)
	})
}

// SSOTenantOf finds the broker tenant an Entra tenant is linked to
// (ErrNotFound: none). Single sign-on knows only the id_token's tid.
// Across tenants: a Microsoft sign-in arrives before any broker tenant is
// known; the verified tid names the one linked tenant (its primary key).
func (s *Store) SSOTenantOf(ctx context.Context, entraTenantID string) (string, error) {
	var tenantID string
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT tenant_id::text FROM sso_links WHERE entra_tenant_id = lower($1)`, entraTenantID).Scan(&tenantID)
	})
	return tenantID, mapErr("sso tenant of", err)
}

// SetRequireSSO turns the tenant's "require single sign-on" on or off.
// Across tenants: only broker_system may write tenants rows (as
// SetRequireApproval); the WHERE names the one tenant.
func (s *Store) SetRequireSSO(ctx context.Context, tenantID string, on bool) error {
	return s.acrossTenants(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE tenants SET require_sso = $2 WHERE id = $1`, tenantID, on)
		return notFoundIfNone("set require sso", tag, err)
	})
}

// API keys: a bearer key names its tenant.

// CreateAPIKey stores a key's hash. An operator key (scope "operator") has
// no tenant and is written through the cross-tenant path; any other key
// needs its tenant.
// Across tenants: an operator key belongs to no tenant (tenant_id NULL), which
// only broker_system sees; tenant keys go through inTenant.
func (s *Store) CreateAPIKey(ctx context.Context, k APIKey) (APIKey, error) {
	var out APIKey
	scope := func(fn func(pgx.Tx) error) error { return s.inTenant(ctx, k.TenantID, fn) }
	if k.Scope == "operator" && k.TenantID == "" {
		scope = func(fn func(pgx.Tx) error) error { return s.acrossTenants(ctx, fn) }
	}
	err := scope(func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `INSERT INTO api_keys (tenant_id, name, prefix, secret_hash, project_ids, scope, created_by,
			rate_limit, rate_burst)
			VALUES (NULLIF($1, '')::uuid, $2, $3, $4, $5, $6, NULLIF($7, '')::uuid, $8, $9) RETURNING `+apiKeyColumns,
			k.TenantID, k.Name, k.Prefix, k.SecretHash, k.ProjectIDs, k.Scope, k.CreatedBy, k.Rate, k.Burst)
		if err != nil {
			return err
		}
		if out, err = pgx.CollectExactlyOneRow(rows, scanAPIKey); err != nil {
			return err
		}
		return appendEvent(ctx, tx, apiKeyEvent(EventAPIKeyCreated, out), s.now())
	})
	return out, mapErr("create api key", err)
}

// APIKeyByPrefix finds a key by its public prefix. The key itself names the
// tenant, so this lookup runs across tenants; the caller checks the hash.
// Across tenants: a bearer key arrives without a tenant: its public prefix
// finds the row, which names the tenant.
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

// RevokedAPIKeysSince lists keys revoked at or after since, on any tenant, so
// every replica can drop them from its cache within a poll interval.
// Across tenants: each replica's key cache holds keys of every tenant and polls
// their revocations in one query.
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
// Across tenants: the verifier batches last-used times of keys of every tenant
// into one write.
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

// Audit: platform events.

// AppendAudit records an event in the tenant (or platform-wide when TenantID is empty).
// Across tenants: platform events (operators, the system) have no tenant;
// tenant events go through inTenant.
func (s *Store) AppendAudit(ctx context.Context, e AuditEvent) error {
	insert := func(tx pgx.Tx) error {
		if e.Details == nil {
			e.Details = map[string]any{}
		}
		_, err := tx.Exec(ctx, `INSERT INTO audit_events (tenant_id, actor_type, actor_id, actor_label, action, connection_id, reason, details, request_id)
			VALUES (NULLIF($1, '')::uuid, $2, $3, $4, $5, NULLIF($6, '')::uuid, $7, $8, $9)`,
			e.TenantID, e.ActorType, e.ActorID, e.ActorLabel, e.Action, e.ConnectionID, e.Reason, e.Details, e.RequestID)
		return err
	}
	var err error
	if e.TenantID == "" {
		err = s.acrossTenants(ctx, insert)
	} else {
		err = s.inTenant(ctx, e.TenantID, insert)
	}
	return mapErr("append audit", err)
}

// Replica caches: every tenant in one poll.

// ConnectionStamps reads the stamps of the given connections, on any tenant;
// an ID with no row (deleted) is simply absent. Replicas poll it for the
// connections they cache, so a connection disabled, deleted or refreshed on
// another replica drops out of their caches within a poll. It is a primary
// key lookup per ID, cheap up to tens of thousands of cached connections.
// Across tenants: a replica's token cache holds connections of every tenant and
// polls their stamps in one query.
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

// ChangeMark is where a change feed starts: the oldest transaction still
// running now (pg_snapshot_xmin). Every change not yet visible to a read made
// after this call carries a transaction ID at or above it.
// Across tenants: the mark is the cluster's, not a tenant's; no rows are read.
func (s *Store) ChangeMark(ctx context.Context) (uint64, error) {
	var mark string
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text`).Scan(&mark)
	})
	if err != nil {
		return 0, mapErr("change mark", err)
	}
	return parseMark(mark)
}

func parseMark(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("store: change mark %q: %w", s, err)
	}
	return n, nil
}

// ConnectionChanges is one read of the change feed.
type ConnectionChanges struct {
	Changed []ConnectionStamp // rows whose version or status changed (again, possibly: reads overlap)
	Deleted []string          // IDs of rows deleted
	Next    uint64            // the mark to read from next time
}

// ConnectionChangesSince reads the connections changed or deleted by
// transactions with IDs at or above mark (migration 00016 stamps them), and
// the next mark: the oldest transaction running at this read. A transaction
// that took its ID before another but commits after it is still running at
// the read that sees the other's change, so its ID is at or above the next
// mark and the next read returns it: nothing committed late is missed
// (TestChangeFeedSeesALateCommit). The cost is the changes since the oldest
// running transaction began, not the number of cached connections; a
// long-running transaction anywhere in the cluster widens the window (rows
// are read again, harmlessly) until it ends.
// Across tenants: a replica's cache holds every tenant's connections; one
// read serves them all.
func (s *Store) ConnectionChangesSince(ctx context.Context, mark uint64) (ConnectionChanges, error) {
	var out ConnectionChanges
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		// One statement, one snapshot: the mark and the rows agree.
		rows, err := tx.Query(ctx, `SELECT 0 AS kind, NULL::text, NULL::bigint, NULL::text, pg_snapshot_xmin(pg_current_snapshot())::text
			UNION ALL SELECT 1, id::text, version, status, NULL FROM connections WHERE change_xid >= $1::text::xid8
			UNION ALL SELECT 2, connection_id::text, NULL, NULL, NULL FROM connection_deletions WHERE change_xid >= $1::text::xid8`,
			strconv.FormatUint(mark, 10))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var kind int
			var id, status, next *string
			var version *int64
			if err := rows.Scan(&kind, &id, &version, &status, &next); err != nil {
				return err
			}
			switch kind {
			case 0:
				if out.Next, err = parseMark(*next); err != nil {
					return err
				}
			case 1:
				out.Changed = append(out.Changed, ConnectionStamp{ID: *id, Version: *version, Status: *status})
			case 2:
				out.Deleted = append(out.Deleted, *id)
			}
		}
		return rows.Err()
	})
	return out, mapErr("connection changes", err)
}

// TombstoneKeep is how long a deleted connection's tombstone is kept for
// the replicas' change feeds (housekeeping prunes older ones).
const TombstoneKeep = 24 * time.Hour

// PruneConnectionDeletions removes tombstones older than before: a replica
// whose feed fell further behind than that re-reads its whole cache instead.
// Across tenants: housekeeping prunes every tenant's tombstones at once.
func (s *Store) PruneConnectionDeletions(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM connection_deletions WHERE deleted_at < $1`, before)
		n = tag.RowsAffected()
		return err
	})
	return n, mapErr("prune connection deletions", err)
}

// ActiveAPIKeyIDs returns those of ids that still exist and are not revoked,
// on any tenant: a cached key whose row went away with its tenant is dropped
// by the replica that checks (RevokedAPIKeysSince does not see deletions).
// Across tenants: the key cache checks keys of every tenant in one query.
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

// Housekeeping: sign-in flows.

// DeleteExpiredFlows removes flows past their expiry, used or not.
// Across tenants: housekeeping deletes every tenant's expired sign-in flows in
// one statement.
func (s *Store) DeleteExpiredFlows(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM oauth_flows WHERE expires_at < $1`, before)
		n = tag.RowsAffected()
		return err
	})
	return n, mapErr("delete expired flows", err)
}

// Graph proxy usage: one flush, every tenant.

// AddGraphUsage adds counts to the hourly summary, many rows in one
// statement, across tenants (one flush carries every tenant's counts).
// Across tenants: one flush carries every tenant's Graph proxy counts; each row
// names its tenant.
func (s *Store) AddGraphUsage(ctx context.Context, rows []GraphUsage) error {
	if len(rows) == 0 {
		return nil
	}
	n := len(rows)
	tenants, hours, keys, conns := make([]string, n), make([]time.Time, n), make([]string, n), make([]string, n)
	status, reqs, in, out := make([]int32, n), make([]int64, n), make([]int64, n), make([]int64, n)
	firsts, lasts := make([]time.Time, n), make([]time.Time, n)
	for i, r := range rows {
		tenants[i], hours[i], keys[i], conns[i] = r.TenantID, r.Hour, r.APIKeyID, r.ConnectionID
		status[i], reqs[i], in[i], out[i], firsts[i], lasts[i] = int32(r.Status), r.Requests, r.BytesIn, r.BytesOut, r.FirstAt, r.LastAt
	}
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO graph_usage AS u (tenant_id, hour, api_key_id, connection_id, status,
			  requests, bytes_in, bytes_out, first_at, last_at)
			SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::uuid[], $5::smallint[],
			                     $6::bigint[], $7::bigint[], $8::bigint[], $9::timestamptz[], $10::timestamptz[])
			ON CONFLICT (tenant_id, hour, api_key_id, connection_id, status) DO UPDATE SET
			  requests = u.requests + EXCLUDED.requests, bytes_in = u.bytes_in + EXCLUDED.bytes_in,
			  bytes_out = u.bytes_out + EXCLUDED.bytes_out,
			  first_at = LEAST(u.first_at, EXCLUDED.first_at), last_at = GREATEST(u.last_at, EXCLUDED.last_at)`,
			tenants, hours, keys, conns, status, reqs, in, out, firsts, lasts)
		return err
	})
	return mapErr("add graph usage", err)
}

// Key rotation: every tenant's secrets.

// RotateBatch re-seals up to limit ciphertexts of one column that are not
// under the primary key, and returns how many it moved. Rows locked by a
// concurrent refresh are skipped and caught by a later batch, so rotation runs
// online; it is resumable because the key ID in each ciphertext is the cursor.
// Across tenants: key rotation re-seals the secrets of every tenant.
func (s *Store) RotateBatch(ctx context.Context, limit int) (int, error) {
	primary := s.ring.PrimaryID()
	total := 0
	for _, sc := range sealedColumns {
		err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
			q := fmt.Sprintf(`SELECT id::text, coalesce(tenant_id::text, ''), %[1]s FROM %[2]s
				WHERE %[1]s IS NOT NULL AND `+keyIDSQL+` <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED`, sc.column, sc.table)
			rows, err := tx.Query(ctx, q, primary, limit-total)
			if err != nil {
				return err
			}
			type item struct {
				id, tenant string
				ct         []byte
			}
			items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (item, error) {
				var it item
				return it, r.Scan(&it.id, &it.tenant, &it.ct)
			})
			if err != nil {
				return err
			}
			for _, it := range items {
				place := secrets.Place{Table: sc.table, Column: sc.column, RowID: it.id, TenantID: it.tenant}
				pt, err := s.ring.Open(it.ct, place)
				if err != nil {
					return fmt.Errorf("%s.%s row %s: %w", sc.table, sc.column, it.id, err)
				}
				_, err = tx.Exec(ctx, fmt.Sprintf(`UPDATE %s SET %s = $2 WHERE id = $1`, sc.table, sc.column), it.id, s.ring.Seal(pt, place))
				clear(pt)
				if err != nil {
					return err
				}
			}
			total += len(items)
			return nil
		})
		if err != nil {
			return total, mapErr("rotate keys", err)
		}
		if total >= limit {
			break
		}
	}
	return total, nil
}

// CountNotUnderPrimary counts ciphertexts still under an older key.
// Across tenants: rotation progress counts the secrets of every tenant.
func (s *Store) CountNotUnderPrimary(ctx context.Context) (int64, error) {
	var total int64
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		for _, sc := range sealedColumns {
			var n int64
			q := fmt.Sprintf(`SELECT count(*) FROM %[2]s WHERE %[1]s IS NOT NULL AND `+keyIDSQL+` <> $1`, sc.column, sc.table)
			if err := tx.QueryRow(ctx, q, s.ring.PrimaryID()).Scan(&n); err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	return total, mapErr("count rotation", err)
}

// Sessions: found by cookie, before the tenant is known.

// CreateSession stores a new session row. Sessions are keyed by an unguessable
// hash and read before a tenant is known, so they go through acrossTenants.
// Across tenants: operator sessions belong to no tenant, and a user's session
// row names its tenant before any tenant is set.
func (s *Store) CreateSession(ctx context.Context, sess Session) error {
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO sessions (id_hash, tenant_id, user_id, operator_id, created_at, authenticated_at, last_seen_at, expires_at, auth_method)
			VALUES ($1, NULLIF($2, '')::uuid, NULLIF($3, '')::uuid, NULLIF($4, '')::uuid, $5, $5, $5, $6, coalesce(NULLIF($7, ''), 'password'))`,
			sess.IDHash, sess.TenantID, sess.UserID, sess.OperatorID, sess.CreatedAt, sess.ExpiresAt, sess.AuthMethod)
		return err
	})
	return mapErr("create session", err)
}

// SessionByHash reads a live (unexpired) session.
// Across tenants: a cookie arrives before the tenant is known: the session row
// names it (operators have none).
func (s *Store) SessionByHash(ctx context.Context, idHash []byte, now time.Time) (Session, error) {
	var sess Session
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id_hash, coalesce(tenant_id::text, ''), coalesce(user_id::text, ''), coalesce(operator_id::text, ''),
			created_at, authenticated_at, last_seen_at, expires_at, auth_method
			FROM sessions WHERE id_hash = $1 AND expires_at > $2`, idHash, now).
			Scan(&sess.IDHash, &sess.TenantID, &sess.UserID, &sess.OperatorID, &sess.CreatedAt, &sess.AuthenticatedAt, &sess.LastSeenAt, &sess.ExpiresAt,
				&sess.AuthMethod)
	})
	return sess, mapErr("get session", err)
}

// TouchSession records activity; callers throttle it so a page view is not a write.
// Across tenants: sessions are found by cookie hash, before a tenant is known.
func (s *Store) TouchSession(ctx context.Context, idHash []byte, now time.Time) error {
	return s.acrossTenants(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1`, idHash, now)
		return notFoundIfNone("touch session", tag, err)
	})
}

// Reauthenticate records a fresh password check on the session.
// Across tenants: sessions are found by cookie hash, before a tenant is known.
func (s *Store) Reauthenticate(ctx context.Context, idHash []byte, now time.Time) error {
	return s.acrossTenants(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE sessions SET authenticated_at = $2, last_seen_at = $2 WHERE id_hash = $1`, idHash, now)
		return notFoundIfNone("reauthenticate session", tag, err)
	})
}

// DeleteSession ends one session (logout).
// Across tenants: sign-out finds the session by cookie hash, before a tenant is
// known.
func (s *Store) DeleteSession(ctx context.Context, idHash []byte) error {
	return s.acrossTenants(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash)
		return mapErr("delete session", err)
	})
}

// DeleteExpiredSessions removes sessions past their absolute expiry.
// Across tenants: housekeeping deletes every tenant's expired sessions in one
// statement.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, now)
		n = tag.RowsAffected()
		return err
	})
	return n, mapErr("delete expired sessions", err)
}

// Tenants: the platform's rows.

// CreateTenant adds a tenant; a taken slug is ErrConflict. Creating tenants is
// platform work, so it runs across tenants.
// Across tenants: tenants rows are the platform's: only broker_system may
// create one (CLI, demo).
func (s *Store) CreateTenant(ctx context.Context, slug, name string) (Tenant, error) {
	var t Tenant
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO tenants (slug, name) VALUES ($1, $2)
			RETURNING id, slug, name, require_approval, created_at`, slug, name).
			Scan(&t.ID, &t.Slug, &t.Name, &t.RequireApproval, &t.CreatedAt)
	})
	return t, mapErr("create tenant", err)
}

// TenantBySlug finds a tenant by slug for the CLI and operators.
// Across tenants: a slug names a tenant before any tenant is set (CLI, demo).
func (s *Store) TenantBySlug(ctx context.Context, slug string) (Tenant, error) {
	var t Tenant
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id, slug, name, require_approval, created_at FROM tenants WHERE slug = $1`, slug).
			Scan(&t.ID, &t.Slug, &t.Name, &t.RequireApproval, &t.CreatedAt)
	})
	return t, mapErr("tenant by slug", err)
}

// ListTenants lists every tenant, for operators.
// Across tenants: the operator's tenant list is every tenant.
func (s *Store) ListTenants(ctx context.Context) ([]Tenant, error) {
	var out []Tenant
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, slug, name, require_approval, created_at FROM tenants ORDER BY slug`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Tenant, error) {
			var t Tenant
			return t, r.Scan(&t.ID, &t.Slug, &t.Name, &t.RequireApproval, &t.CreatedAt)
		})
		return err
	})
	return out, mapErr("list tenants", err)
}

// Keep-alive: the next due connections of any tenant.

// ClaimDueConnections takes up to n connections due by p.Now, on any
// tenant, and leases each to a fresh holder (Claim.Holder), in one
// statement: rows another transaction holds are skipped (FOR UPDATE SKIP
// LOCKED), and so are leased ones and p.Skip. The candidates are a range
// scan of next_refresh_at's index (keepalive.go), so a claim costs the same
// at a million rows as at ten. fn runs on each: the rows to refresh keep
// their lease (Held); the others have fn's write applied and their lease
// given back, in the same transaction.
// Across tenants: the keep-alive worker claims the next due connections,
// whichever tenants they belong to.
func (s *Store) ClaimDueConnections(ctx context.Context, p DuePolicy, n int, lease Lease, fn DueFunc) ([]Claim, error) {
	var out []Claim
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		out = out[:0]
		if err := s.syncDuePolicy(ctx, tx, p); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, claimDueSQL, p.Now, nonNil(p.Skip), n, lease.Length.Milliseconds())
		if err != nil {
			return err
		}
		claims, err := s.scanDue(rows)
		if err != nil {
			return err
		}
		for i := range claims {
			c := &claims[i]
			w, refresh, err := fn(c.Conn, c.Creds, c.State)
			switch {
			case err != nil:
				return err
			case refresh:
				c.Held = true
				continue
			case w == nil:
				w = &TokenWrite{}
			}
			c.Holder = ""
			if c.Conn, err = s.applyTokenWrite(ctx, tx, c.Conn, *w, true); err != nil {
				return err
			}
		}
		out = claims
		return nil
	})
	if err != nil {
		return nil, refreshErr("claim due connections", err)
	}
	return out, nil
}

// Seeding: many tenants' rows at once.

// SeedConnections writes many connections with one COPY, their secrets
// sealed as any write seals them, for `broker dev seed` and the scale
// benchmark. It records no status history and no audit event.
// Across tenants: the seeding tool fills many tenants' connections in one
// COPY; each row names its tenant.
func (s *Store) SeedConnections(ctx context.Context, rows []SeedConnection) error {
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		// COPY does not write through row-level security: it fills a
		// temporary table, and one INSERT moves the rows, under the policy.
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE seed_connections (LIKE connections INCLUDING DEFAULTS) ON COMMIT DROP`); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"seed_connections"}, seedColumns, pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			return s.seedValues(&rows[i]), nil
		})); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO connections (`+strings.Join(seedColumns, ", ")+`)
			SELECT `+strings.Join(seedColumns, ", ")+` FROM seed_connections`)
		return err
	})
	return mapErr("seed connections", err)
}

// Token usage: one flush, every tenant.

// AddTokenUsage adds counts to the hourly summary, many rows in one
// statement. It runs across tenants because one flush carries every tenant's
// counts; each row names its tenant.
// Across tenants: one flush carries every tenant's token counts; each row names
// its tenant.
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

// TouchConnections records when connections were last used, many in one
// statement (batched by the caller). It leaves version and updated_at alone:
// use is not a change, and replicas' caches must not be invalidated by it.
// Across tenants: last-used times of every tenant's connections are batched
// into one write.
func (s *Store) TouchConnections(ctx context.Context, lastUsed map[string]time.Time) error {
	if len(lastUsed) == 0 {
		return nil
	}
	// In ID order, so two replicas flushing overlapping sets lock rows in
	// the same order; a row already used later is left alone (no new row
	// version); last_used_at is in no index, so the rest are heap-only
	// updates where the page has room (fillfactor, migration 00016).
	ids := make([]string, 0, len(lastUsed))
	for id := range lastUsed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	ats := make([]time.Time, len(ids))
	for i, id := range ids {
		ats[i] = lastUsed[id]
	}
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE connections c SET last_used_at = v.at
			FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, at)
			WHERE c.id = v.id AND (c.last_used_at IS NULL OR c.last_used_at < v.at)`, ids, ats)
		return err
	})
	return mapErr("touch connections", err)
}

// Sign-in and accounts: one address, one account, platform-wide.

// CreateUser adds a user with a password hash; a taken email is ErrConflict.
// Across tenants: one address signs in to one account platform-wide, so the
// operators table is checked too, which only broker_system sees.
func (s *Store) CreateUser(ctx context.Context, tenantID, email, passwordHash, role string, projectIDs []string) (User, error) {
	var u User
	// One email signs in to one account: an operator's address is taken too.
	// (users.email is unique by index; operators are checked here.)
	var taken bool
	if err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM operators WHERE lower(email) = lower($1))`, email).Scan(&taken)
	}); err != nil {
		return u, mapErr("create user", err)
	}
	if taken {
		return u, fmt.Errorf("store: create user: %w", ErrConflict)
	}
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO users (tenant_id, email, password_hash, role) VALUES ($1, $2, $3, $4)
			RETURNING id, tenant_id, email, password_hash, role, created_at, password_changed_at`,
			tenantID, email, passwordHash, role).
			Scan(&u.ID, &u.TenantID, &u.Email, &u.PasswordHash, &u.Role, &u.CreatedAt, &u.PasswordChangedAt)
		if err != nil {
			return err
		}
		for _, p := range projectIDs {
			if _, err := tx.Exec(ctx, `INSERT INTO project_members (tenant_id, project_id, user_id) VALUES ($1, $2, $3)`,
				tenantID, p, u.ID); err != nil {
				return err
			}
		}
		u.ProjectIDs = projectIDs
		return nil
	})
	return u, mapErr("create user", err)
}

// PrincipalByEmail finds the account an email signs in to. Sign-in happens
// before any tenant is known, so it looks across tenants.
// Across tenants: sign-in knows only an email: it finds the user, in whichever
// tenant, or the operator.
func (s *Store) PrincipalByEmail(ctx context.Context, email string) (Principal, error) {
	var p Principal
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		var u User
		err := tx.QueryRow(ctx, userSelect+` WHERE lower(u.email) = lower($1)`, email).
			Scan(&u.ID, &u.TenantID, &u.Email, &u.PasswordHash, &u.Role, &u.CreatedAt, &u.PasswordChangedAt, &u.ProjectIDs)
		if err == nil {
			p.User = &u
			return nil
		}
		if err != pgx.ErrNoRows {
			return err
		}
		var o Operator
		err = tx.QueryRow(ctx, `SELECT id, email, password_hash, created_at, password_changed_at FROM operators WHERE lower(email) = lower($1)`, email).
			Scan(&o.ID, &o.Email, &o.PasswordHash, &o.CreatedAt, &o.PasswordChangedAt)
		if err != nil {
			return err
		}
		p.Operator = &o
		return nil
	})
	return p, mapErr("principal by email", err)
}

// CreateOperator adds a platform operator; a taken email is ErrConflict.
// Across tenants: operators belong to no tenant, and their address must not be
// any tenant's user's.
func (s *Store) CreateOperator(ctx context.Context, email, passwordHash string) (Operator, error) {
	var o Operator
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		var taken bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = lower($1))`, email).Scan(&taken); err != nil {
			return err
		}
		if taken {
			return ErrConflict
		}
		return tx.QueryRow(ctx, `INSERT INTO operators (email, password_hash) VALUES ($1, $2)
			RETURNING id, email, password_hash, created_at, password_changed_at`, email, passwordHash).
			Scan(&o.ID, &o.Email, &o.PasswordHash, &o.CreatedAt, &o.PasswordChangedAt)
	})
	if errors.Is(err, ErrConflict) {
		return o, fmt.Errorf("store: create operator: %w", ErrConflict)
	}
	return o, mapErr("create operator", err)
}

// Operators: no tenant.

// Operator reads one platform operator, for the web layer to know who a
// session belongs to. Operators have no tenant, so it looks across tenants.
// Across tenants: operators belong to no tenant.
func (s *Store) Operator(ctx context.Context, operatorID string) (Operator, error) {
	var o Operator
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id, email, password_hash, created_at, password_changed_at FROM operators WHERE id = $1`, operatorID).
			Scan(&o.ID, &o.Email, &o.PasswordHash, &o.CreatedAt, &o.PasswordChangedAt)
	})
	return o, mapErr("get operator", err)
}

// Events and webhooks: broker-wide endpoints and every replica's workers.

// inOwner runs fn in the tenant, or, for tenantID "", across tenants for
// the broker-wide rows (tenant_id NULL) that only broker_system sees; the
// callers' WHERE clauses name tenant_id IS NOT DISTINCT FROM the owner.
// Across tenants: operators' broker-wide webhook endpoints belong to no
// tenant; tenant endpoints go through inTenant.
func (s *Store) inOwner(ctx context.Context, tenantID string, fn func(pgx.Tx) error) error {
	if tenantID == "" {
		return s.acrossTenants(ctx, fn)
	}
	return s.inTenant(ctx, tenantID, fn)
}

// AppendBrokerEvent records a broker-wide event (tenant NULL), such as
// broker.health_changed, and queues it for the broker-wide endpoints.
// Across tenants: a broker-wide event belongs to no tenant.
func (s *Store) AppendBrokerEvent(ctx context.Context, typ string, data any) error {
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		return appendEvent(ctx, tx, newEvent{Type: typ, Data: data}, s.now())
	})
	return mapErr("append broker event", err)
}

// DeliveryJob is a claimed delivery attempt with what sending it needs.
type DeliveryJob struct {
	ID, EndpointID, TenantID, URL string
	EventID                       int64
	EventType                     string
	EventCreatedAt                time.Time
	Data                          json.RawMessage
	Attempt                       int       // this attempt's number, from 1
	Secrets                       []string  // the current secret, then the previous during an overlap
	FailingSince                  time.Time // first failure of the streak this attempt is in
}

// ClaimWebhookDeliveries leases up to limit due deliveries for holder:
// only the head (lowest event) of each enabled endpoint's pending
// deliveries, and only when no lease stands on it, so an endpoint has one
// attempt in flight across all replicas and gets its events in order. FOR
// UPDATE SKIP LOCKED lets replicas claim side by side without waiting.
// Across tenants: every replica's worker delivers every tenant's events.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, now time.Time, holder string, lease time.Duration, limit int) ([]DeliveryJob, error) {
	var out []DeliveryJob
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		// One index probe per enabled endpoint for its head, however long
		// its queue.
		rows, err := tx.Query(ctx, `WITH due AS (
				SELECT d.id FROM webhook_endpoints w
				CROSS JOIN LATERAL (SELECT p.id FROM webhook_deliveries p WHERE p.endpoint_id = w.id AND p.status = 'pending'
				                    ORDER BY p.event_id LIMIT 1) h
				JOIN webhook_deliveries d ON d.id = h.id
				WHERE w.enabled AND d.status = 'pending' AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until <= $1)
				ORDER BY d.next_attempt_at LIMIT $4 FOR UPDATE OF d SKIP LOCKED)
			UPDATE webhook_deliveries d SET lease_holder = $2, lease_until = $1 + $3 * interval '1 millisecond',
				attempts = d.attempts + 1, last_attempt_at = $1
			FROM due WHERE d.id = due.id
			RETURNING d.id::text`, now, holder, lease.Milliseconds(), limit)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(ids) == 0 {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT d.id::text, d.endpoint_id::text, coalesce(d.tenant_id::text, ''), w.url, e.id, e.type,
			e.created_at, e.payload, d.attempts, w.secret_enc, w.previous_secret_enc, w.previous_secret_until,
			coalesce(w.failing_since, $2)
			FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id JOIN events e ON e.id = d.event_id
			WHERE d.id = ANY($1::uuid[]) ORDER BY e.id`, ids, now)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var j DeliveryJob
			var cur, prev []byte
			var prevUntil *time.Time
			if err := rows.Scan(&j.ID, &j.EndpointID, &j.TenantID, &j.URL, &j.EventID, &j.EventType, &j.EventCreatedAt,
				&j.Data, &j.Attempt, &cur, &prev, &prevUntil, &j.FailingSince); err != nil {
				return err
			}
			secret, err := s.ring.OpenString(cur, webhookPlace(j.EndpointID, j.TenantID, colWebhookSecret))
			if err != nil {
				return fmt.Errorf("open webhook secret of endpoint %s: %w", j.EndpointID, err)
			}
			j.Secrets = []string{secret}
			if prev != nil && prevUntil != nil && now.Before(*prevUntil) {
				old, err := s.ring.OpenString(prev, webhookPlace(j.EndpointID, j.TenantID, colWebhookPrevious))
				if err != nil {
					return fmt.Errorf("open previous webhook secret of endpoint %s: %w", j.EndpointID, err)
				}
				j.Secrets = append(j.Secrets, old)
			}
			out = append(out, j)
		}
		return rows.Err()
	})
	return out, mapErr("claim webhook deliveries", err)
}

// DeliveryOutcome is what one attempt came to.
type DeliveryOutcome struct {
	Delivered  bool
	StatusCode int // 0: no HTTP answer
	Error      string
	Duration   time.Duration
	RetryAt    *time.Time // not delivered: the next attempt; nil: failed for good
	// Disable, when set, disables the endpoint with this reason (410 Gone,
	// retries exhausted) and records webhook.endpoint_disabled.
	Disable string
}

// FinishWebhookDelivery records an attempt's outcome and releases its
// lease, only while holder still holds it (else ErrLeaseLost, nothing
// written).
// Across tenants: every replica's worker delivers every tenant's events.
func (s *Store) FinishWebhookDelivery(ctx context.Context, id, holder string, now time.Time, o DeliveryOutcome) error {
	status := "pending"
	switch {
	case o.Delivered:
		status = "delivered"
	case o.RetryAt == nil:
		status = "failed"
	}
	var code *int
	if o.StatusCode != 0 {
		code = &o.StatusCode
	}
	next := now
	if o.RetryAt != nil {
		next = *o.RetryAt
	}
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		var endpointID, tenantID string
		err := tx.QueryRow(ctx, `UPDATE webhook_deliveries SET status = $3, next_attempt_at = $4, lease_holder = NULL,
			lease_until = NULL, last_status_code = $5, last_error = $6, last_duration_ms = $7,
			delivered_at = CASE WHEN $3 = 'delivered' THEN $8 ELSE delivered_at END
			WHERE id = $1 AND lease_holder = $2 RETURNING endpoint_id::text, coalesce(tenant_id::text, '')`,
			id, holder, status, next, code, truncate(o.Error, 500), o.Duration.Milliseconds(), now).Scan(&endpointID, &tenantID)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrLeaseLost
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET
			failing_since = CASE WHEN $2 THEN NULL ELSE coalesce(failing_since, $3) END WHERE id = $1`,
			endpointID, o.Delivered, now); err != nil {
			return err
		}
		if o.Disable == "" {
			return nil
		}
		rows, err := tx.Query(ctx, `UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, disabled_at = $3,
			updated_at = now() WHERE id = $1 AND enabled RETURNING `+webhookColumns, endpointID, o.Disable, now)
		if err != nil {
			return err
		}
		eps, err := pgx.CollectRows(rows, scanWebhook)
		if err != nil || len(eps) == 0 {
			return err
		}
		return appendEvent(ctx, tx, newEvent{TenantID: tenantID, Type: EventWebhookEndpointDisabled,
			Data: endpointDisabledData(eps[0])}, now)
	})
	return mapErr("finish webhook delivery", err)
}

// QueueStats is the delivery queue's depth and age, for metrics.
type QueueStats struct {
	Pending      int64
	OldestAgeSec float64 // the oldest undelivered event's age; 0 when none
}

// WebhookQueueStats measures the queue of pending deliveries.
// Across tenants: the metrics cover every tenant's queue.
func (s *Store) WebhookQueueStats(ctx context.Context, now time.Time) (QueueStats, error) {
	var q QueueStats
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*), coalesce(extract(epoch FROM $1 - min(e.created_at)), 0)::float8
			FROM webhook_deliveries d JOIN events e ON e.id = d.event_id WHERE d.status = 'pending'`, now).
			Scan(&q.Pending, &q.OldestAgeSec)
	})
	return q, mapErr("webhook queue stats", err)
}

// Connect links: a link's token arrives before its tenant is known.

// ConnectSessionByTokenHash finds a connect session by the SHA-256 of the
// token in its URL.
// Across tenants: the hosted page is opened by someone with no broker login
// and only the link's token, whose hash finds the row that names the tenant;
// everything after runs in that tenant.
func (s *Store) ConnectSessionByTokenHash(ctx context.Context, tokenHash []byte) (ConnectSession, error) {
	var out ConnectSession
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = scanConnectSession(tx.QueryRow(ctx, `SELECT `+connectSessionColumns+` FROM connect_sessions
			WHERE token_hash = $1`, tokenHash))
		return err
	})
	return out, mapErr("connect session by token", err)
}

// DeleteOldConnectSessions removes connect sessions that expired before
// before, finished or not, and returns how many.
// Across tenants: housekeeping removes every tenant's old connect sessions in
// one statement.
func (s *Store) DeleteOldConnectSessions(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM connect_sessions WHERE expires_at < $1`, before)
		n = tag.RowsAffected()
		return err
	})
	return n, mapErr("delete old connect sessions", err)
}
