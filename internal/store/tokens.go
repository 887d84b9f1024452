package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

var (
	// ErrBusy means the connection's row stayed locked past the lock wait.
	// Claims and writes hold it for one short transaction, so this is rare.
	ErrBusy = errors.New("busy")
	// ErrLeaseLost means a refresh's lease was taken over by another claim
	// (it ran out while the holder was away): the holder must not write.
	ErrLeaseLost = errors.New("refresh lease lost")
)

// lockWait bounds the wait for another claim's or write's short
// transaction on the same row.
const lockWait = 5 * time.Second

// RefreshState is a connection's refresh bookkeeping, read with its row.
type RefreshState struct {
	NotBefore *time.Time // no request to Microsoft before this (Retry-After, back-off)
	Failures  int        // transient failures in a row, for the back-off window
	Leased    bool       // another claim holds a live lease
	LeaseLeft time.Duration
}

// Lease is one claim on a connection's refresh: a holder ID unique to the
// claim and how long it stands, by the database's clock.
type Lease struct {
	Holder string // a UUID
	Length time.Duration
}

// ClaimFunc decides, on the row as it is now, whether this caller should
// refresh. It runs inside a short transaction and must do no I/O.
type ClaimFunc func(Connection, Credentials, RefreshState) bool

// Claim is what ClaimRefresh found and whether the caller now holds the lease.
type Claim struct {
	Conn   Connection
	Creds  Credentials
	State  RefreshState
	Held   bool
	Holder string // the lease's holder, when a batch claim took it
}

// ClaimRefresh reads one connection of the tenant with its decrypted
// credentials and refresh state, and, when want says to refresh and no live
// lease stands, takes the lease for lease.Holder. The transaction commits at
// once: nothing stays locked while the holder talks to Microsoft.
func (s *Store) ClaimRefresh(ctx context.Context, tenantID, id string, lease Lease, want ClaimFunc) (Claim, error) {
	var out Claim
	err := s.inTenantLockWait(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out.Conn, out.Creds, out.State, err = s.readForRefresh(ctx, tx, id)
		if err != nil || !want(out.Conn, out.Creds, out.State) || out.State.Leased {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE connections SET refresh_lease_holder = $2,
			refresh_lease_until = clock_timestamp() + $3 * interval '1 millisecond' WHERE id = $1`,
			id, lease.Holder, lease.Length.Milliseconds())
		out.Held = err == nil
		return err
	})
	return out, refreshErr("claim refresh", err)
}

func (s *Store) readForRefresh(ctx context.Context, tx pgx.Tx, id string) (Connection, Credentials, RefreshState, error) {
	var st RefreshState
	c, cr, err := s.readWithCredentials(ctx, tx, id, true)
	if err != nil {
		return c, cr, st, err
	}
	var leftMS int64
	err = tx.QueryRow(ctx, `SELECT refresh_not_before, refresh_failures,
		coalesce(refresh_lease_until > clock_timestamp(), false),
		coalesce(greatest(extract(epoch FROM refresh_lease_until - clock_timestamp()) * 1000, 0), 0)::bigint
		FROM connections WHERE id = $1`, id).Scan(&st.NotBefore, &st.Failures, &st.Leased, &leftMS)
	st.LeaseLeft = time.Duration(leftMS) * time.Millisecond
	return c, cr, st, err
}

// TokenWrite is what a refresh decided.
type TokenWrite struct {
	Update      *ConnectionUpdate // nil: the row's data and version stay as they are
	NotBefore   *time.Time        // nil: leave; a zero time clears it
	RefreshedAt *time.Time        // sets last_refresh_at, by the caller's clock (the worker compares with it)
	Failures    *int              // nil: leave
}

// FinishRefresh writes a refresh's outcome and releases its lease, in one
// transaction, only while holder still holds the lease (else ErrLeaseLost
// and nothing is written): a holder that was away past its lease cannot
// overwrite the token its successor stored. A new refresh token is written
// with the access token it came with, replacing the old one in the same
// statement, so the row always holds a refresh token Microsoft accepts.
func (s *Store) FinishRefresh(ctx context.Context, tenantID, id, holder string, w TokenWrite) (Connection, error) {
	var out Connection
	err := s.inTenantLockWait(ctx, tenantID, func(tx pgx.Tx) error {
		c, err := scanConnection(tx.QueryRow(ctx, `SELECT `+connectionColumns+connectionFrom+`
			WHERE c.id = $1 AND c.refresh_lease_holder = $2 FOR UPDATE OF c`, id, holder))
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrLeaseLost
		}
		if err != nil {
			return err
		}
		out, err = s.applyTokenWrite(ctx, tx, c, w, true)
		return err
	})
	if errors.Is(err, ErrLeaseLost) {
		return out, fmt.Errorf("store: finish refresh: %w", ErrLeaseLost)
	}
	return out, refreshErr("finish refresh", err)
}

func (s *Store) applyTokenWrite(ctx context.Context, tx pgx.Tx, c Connection, w TokenWrite, release bool) (Connection, error) {
	if w.Update != nil {
		if err := s.applyUpdate(ctx, tx, &c, *w.Update); err != nil {
			return c, err
		}
	}
	var nb *time.Time
	if w.NotBefore != nil && !w.NotBefore.IsZero() {
		nb = w.NotBefore
	}
	// The bookkeeping and the row as it now is, in one round trip.
	return scanConnection(tx.QueryRow(ctx, `WITH c AS (UPDATE connections SET
		refresh_not_before = CASE WHEN $2 THEN $3 ELSE refresh_not_before END,
		last_refresh_at = coalesce($4, last_refresh_at),
		refresh_failures = coalesce($5, refresh_failures),
		refresh_lease_holder = CASE WHEN $6 THEN NULL ELSE refresh_lease_holder END,
		refresh_lease_until = CASE WHEN $6 THEN NULL ELSE refresh_lease_until END
		WHERE id = $1 RETURNING *)
		SELECT `+connectionColumns+` FROM c JOIN projects p ON p.id = c.project_id LEFT JOIN users u ON u.id = c.created_by`,
		c.ID, w.NotBefore != nil, nb, w.RefreshedAt, w.Failures, release))
}

// inTenantLockWait is inTenant with the wait for another short
// transaction on the row bounded (lockWait), both set in one statement.
// set_config(…, true) is SET LOCAL: pooled connections keep their defaults.
func (s *Store) inTenantLockWait(ctx context.Context, tenantID string, fn func(pgx.Tx) error) error {
	if tenantID == "" {
		return fmt.Errorf("store: no tenant given: %w", ErrNotFound)
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_config('broker.tenant_id', $1, true), set_config('lock_timeout', $2, true)",
			tenantID, fmt.Sprintf("%dms", lockWait.Milliseconds())); err != nil {
			return fmt.Errorf("set tenant: %w", err)
		}
		return fn(tx)
	})
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

// DueFunc decides, in the claim's short transaction, what to write for a
// due connection (nil: nothing), or that it is to be refreshed: then the
// claim takes the refresh lease, and the refresh runs after the commit.
// It must do no I/O.
type DueFunc func(Connection, Credentials, RefreshState) (w *TokenWrite, refresh bool, err error)
