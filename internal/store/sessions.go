package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Session is a signed-in browser. IDHash is the SHA-256 of the cookie's ID.
type Session struct {
	IDHash          []byte
	TenantID        string // empty for operators
	UserID          string
	OperatorID      string
	CreatedAt       time.Time
	AuthenticatedAt time.Time
	LastSeenAt      time.Time
	ExpiresAt       time.Time
}

// CreateSession stores a new session row. Sessions are keyed by an unguessable
// hash and read before a tenant is known, so they go through acrossTenants.
func (s *Store) CreateSession(ctx context.Context, sess Session) error {
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO sessions (id_hash, tenant_id, user_id, operator_id, created_at, authenticated_at, last_seen_at, expires_at)
			VALUES ($1, NULLIF($2, '')::uuid, NULLIF($3, '')::uuid, NULLIF($4, '')::uuid, $5, $5, $5, $6)`,
			sess.IDHash, sess.TenantID, sess.UserID, sess.OperatorID, sess.CreatedAt, sess.ExpiresAt)
		return err
	})
	return mapErr("create session", err)
}

// SessionByHash reads a live (unexpired) session.
func (s *Store) SessionByHash(ctx context.Context, idHash []byte, now time.Time) (Session, error) {
	var sess Session
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id_hash, coalesce(tenant_id::text, ''), coalesce(user_id::text, ''), coalesce(operator_id::text, ''),
			created_at, authenticated_at, last_seen_at, expires_at
			FROM sessions WHERE id_hash = $1 AND expires_at > $2`, idHash, now).
			Scan(&sess.IDHash, &sess.TenantID, &sess.UserID, &sess.OperatorID, &sess.CreatedAt, &sess.AuthenticatedAt, &sess.LastSeenAt, &sess.ExpiresAt)
	})
	return sess, mapErr("get session", err)
}

// TouchSession records activity; callers throttle it so a page view is not a write.
func (s *Store) TouchSession(ctx context.Context, idHash []byte, now time.Time) error {
	return s.acrossTenants(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1`, idHash, now)
		return notFoundIfNone("touch session", tag, err)
	})
}

// Reauthenticate records a fresh password check on the session.
func (s *Store) Reauthenticate(ctx context.Context, idHash []byte, now time.Time) error {
	return s.acrossTenants(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE sessions SET authenticated_at = $2, last_seen_at = $2 WHERE id_hash = $1`, idHash, now)
		return notFoundIfNone("reauthenticate session", tag, err)
	})
}

// DeleteSession ends one session (logout).
func (s *Store) DeleteSession(ctx context.Context, idHash []byte) error {
	return s.acrossTenants(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash)
		return mapErr("delete session", err)
	})
}

// DeleteExpiredSessions removes sessions past their absolute expiry.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, now)
		n = tag.RowsAffected()
		return err
	})
	return n, mapErr("delete expired sessions", err)
}
