package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrBusy means the connection's row stayed locked (another replica is
// refreshing it) past the caller's lock wait.
var ErrBusy = errors.New("busy")

// RefreshLock bounds the row lock a token refresh takes. The lock belongs to
// the transaction, so it dies with a crashed holder's connection; Lease
// covers the holder that hangs without dying.
type RefreshLock struct {
	// Wait bounds the wait for another holder (lock_timeout). The context's
	// deadline bounds it as well: pgx cancels the query when it ends.
	Wait time.Duration
	// Lease bounds how long the holder may sit idle in its transaction while
	// it waits for Microsoft (idle_in_transaction_session_timeout): Postgres
	// ends a session that goes quiet for longer, and with it the lock.
	Lease time.Duration
}

// TokenState is refresh bookkeeping read under the lock.
type TokenState struct {
	NotBefore *time.Time // no request to Microsoft before this (Retry-After)
	// Alive confirms, with one round trip, that the transaction and so the
	// lock still stand: a holder that lost them (its session ended) must not
	// go on asking Microsoft for tokens another replica may be getting.
	Alive func(context.Context) error
}

// TokenWrite is what a refresh decided. A nil *TokenWrite writes nothing.
type TokenWrite struct {
	Update      *ConnectionUpdate // nil: the row's data and version stay as they are
	NotBefore   *time.Time        // nil: leave; a zero time clears it
	RefreshedAt *time.Time        // sets last_refresh_at, by the caller's clock (the worker compares with it)
}

// RefreshFunc decides, under the row lock, what a refresh writes. It may call
// Microsoft; the lock is held meanwhile, so other replicas wait and re-read.
type RefreshFunc func(Connection, Credentials, TokenState) (*TokenWrite, error)

// RefreshConnection locks one connection of the tenant FOR UPDATE, runs fn
// with its decrypted credentials and applies fn's decision in the same
// transaction: a new refresh token is stored with the access token it came
// with, or not at all.
func (s *Store) RefreshConnection(ctx context.Context, tenantID, id string, lock RefreshLock, fn RefreshFunc) (Connection, error) {
	var out Connection
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		if err := setLockLimits(ctx, tx, lock); err != nil {
			return err
		}
		var err error
		out, err = s.refreshLocked(ctx, tx, id, fn)
		return err
	})
	return out, refreshErr("refresh connection", err)
}

func (s *Store) refreshLocked(ctx context.Context, tx pgx.Tx, id string, fn RefreshFunc) (Connection, error) {
	c, cr, err := s.readWithCredentials(ctx, tx, id, true)
	if err != nil {
		return c, err
	}
	st := TokenState{Alive: func(ctx context.Context) error {
		_, err := tx.Exec(ctx, `SELECT 1`)
		return err
	}}
	if err := tx.QueryRow(ctx, `SELECT refresh_not_before FROM connections WHERE id = $1`, id).Scan(&st.NotBefore); err != nil {
		return c, err
	}
	w, err := fn(c, cr, st)
	if err != nil || w == nil {
		return c, err
	}
	if w.Update != nil {
		if err := s.applyUpdate(ctx, tx, &c, *w.Update); err != nil {
			return c, err
		}
	}
	if w.NotBefore != nil || w.RefreshedAt != nil {
		var nb *time.Time
		if w.NotBefore != nil && !w.NotBefore.IsZero() {
			nb = w.NotBefore
		}
		if _, err := tx.Exec(ctx, `UPDATE connections SET
			refresh_not_before = CASE WHEN $2 THEN $3 ELSE refresh_not_before END,
			last_refresh_at = coalesce($4, last_refresh_at) WHERE id = $1`,
			id, w.NotBefore != nil, nb, w.RefreshedAt); err != nil {
			return c, err
		}
	}
	return scanConnection(tx.QueryRow(ctx, `SELECT `+connectionColumns+connectionFrom+` WHERE c.id = $1`, id))
}

// setLockLimits sets the transaction's lock wait and idle lease in one
// round trip. set_config(…, true) is SET LOCAL: it ends with the
// transaction, so pooled connections keep their defaults. Zero means the
// server's setting.
func setLockLimits(ctx context.Context, tx pgx.Tx, lock RefreshLock) error {
	ms := func(d time.Duration) string {
		if d <= 0 {
			return ""
		}
		return fmt.Sprintf("%dms", max(d.Milliseconds(), 1))
	}
	if lock.Wait <= 0 && lock.Lease <= 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `SELECT
		CASE WHEN $1 <> '' THEN set_config('lock_timeout', $1, true) END,
		CASE WHEN $2 <> '' THEN set_config('idle_in_transaction_session_timeout', $2, true) END`,
		ms(lock.Wait), ms(lock.Lease))
	return err
}

// refreshErr is mapErr plus lock_not_available → ErrBusy.
func refreshErr(op string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "55P03" {
		return fmt.Errorf("store: %s: %w", op, ErrBusy)
	}
	return mapErr(op, err)
}

// DuePolicy says which connections the keep-alive worker refreshes. Times
// come from the caller's clock, so tests can move it.
type DuePolicy struct {
	Now           time.Time
	UsedWithin    time.Duration // "in active use": last_used_at at most this old
	ExpiresWithin time.Duration // refresh those in use whose access token expires within this
	IdleAfter     time.Duration // refresh authorization-code grants not refreshed for this long
	SecretWarning time.Duration // flag client secrets expiring within this as secret_expiring
	Skip          []string      // connection IDs not to take (already handled in this scan)
}

// ClaimDueConnection takes one connection the policy says is due, on any
// tenant, skipping rows another replica or caller holds (FOR UPDATE SKIP
// LOCKED), and runs fn on it under the lock as RefreshConnection does. It
// reports whether it found one.
func (s *Store) ClaimDueConnection(ctx context.Context, p DuePolicy, lock RefreshLock, fn RefreshFunc) (bool, error) {
	found := false
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		if err := setLockLimits(ctx, tx, lock); err != nil {
			return err
		}
		var id string
		err := tx.QueryRow(ctx, `SELECT id::text FROM connections
			WHERE status IN ('active', 'secret_expiring')
			  AND (refresh_not_before IS NULL OR refresh_not_before <= $1)
			  AND ((last_used_at >= $1 - $2 * interval '1 second' AND access_token_expires_at < $1 + $3 * interval '1 second')
			    OR (auth_type = 'authorization_code' AND refresh_token_enc IS NOT NULL
			        AND coalesce(last_refresh_at, created_at) < $1 - $4 * interval '1 second')
			    OR (auth_type = 'client_credentials' AND status = 'active'
			        AND client_secret_expires_at < $1 + $5 * interval '1 second'))
			  AND NOT (id = ANY($6::uuid[]))
			ORDER BY access_token_expires_at NULLS LAST
			LIMIT 1 FOR UPDATE SKIP LOCKED`,
			p.Now, p.UsedWithin.Seconds(), p.ExpiresWithin.Seconds(), p.IdleAfter.Seconds(), p.SecretWarning.Seconds(),
			nonNil(p.Skip)).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		_, err = s.refreshLocked(ctx, tx, id, fn)
		return err
	})
	return found, refreshErr("claim due connection", err)
}
