// Package store holds every SQL statement of the broker. All tenant-owned data
// is read and written through inTenant, which sets the tenant for one
// transaction; Postgres row-level security does the rest, so a query that
// forgets its tenant sees nothing rather than everything.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/brokerhq/broker/internal/secrets"
)

// AppRole is the role every pooled connection switches to. It is neither
// superuser nor BYPASSRLS (migration 00001 creates it), so RLS binds even
// when the database URL names a superuser or the tables' owner.
const AppRole = "broker_app"

// SystemRole is the role of the one path across tenants (acrossTenants):
// its policies admit every row. With a system URL its own pool runs as it;
// without one, acrossTenants takes it with SET LOCAL, for one transaction.
const SystemRole = "broker_system"

var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrInvalid is input Postgres cannot take (a NUL byte, a value out of
	// range: SQLSTATE class 22): the caller's mistake, a 400, not a 500.
	ErrInvalid = errors.New("invalid input")
)

// Store is the broker's Postgres store.
type Store struct {
	pool   *pgxpool.Pool
	system *pgxpool.Pool // SystemURL's pool, or nil: acrossTenants then uses pool
	// health is one connection of its own for Ping, so /readyz reports the
	// database as it is, not the main pool as busy.
	health *pgxpool.Pool
	ring   *secrets.Ring
	now    func() time.Time
	// duePolicy is the keep-alive policy last seen matching the database's
	// keepalive_policy row (keepalive.go), so claims check it once.
	duePolicy atomic.Pointer[dueWindows]
}

// Options tune Open.
type Options struct {
	MaxConns int32 // 0: pgx's default, max(4, CPUs)
	Now      func() time.Time
	// SystemURL (BROKER_SYSTEM_DATABASE_URL) is a login that may act as
	// SystemRole, for acrossTenants only. Set, the main URL's login must
	// not be able to (least privilege); unset, it must (one URL, dev setup).
	SystemURL string
	// Tracer sees every statement of the main and system pools (a
	// benchmark counts them); nil: none.
	Tracer pgx.QueryTracer
}

// Open connects a pool whose connections run as AppRole and, with
// opts.SystemURL, a small one running as SystemRole. It checks the logins'
// roles at once, so a misconfigured deployment fails at start-up.
func Open(ctx context.Context, databaseURL string, ring *secrets.Ring, opts Options) (*Store, error) {
	pool, err := openPool(ctx, databaseURL, "BROKER_DATABASE_URL", AppRole, opts.MaxConns, opts.Tracer)
	if err != nil {
		return nil, err
	}
	health, err := openPool(ctx, databaseURL, "BROKER_DATABASE_URL", AppRole, 1, nil)
	if err != nil {
		pool.Close()
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Store{pool: pool, health: health, ring: ring, now: now}
	if opts.SystemURL != "" {
		if s.system, err = openPool(ctx, opts.SystemURL, "BROKER_SYSTEM_DATABASE_URL", SystemRole, 4, opts.Tracer); err != nil {
			pool.Close()
			health.Close()
			return nil, err
		}
	}
	if err := s.checkRoles(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// openPool connects a pool whose every connection runs SET ROLE role.
func openPool(ctx context.Context, databaseURL, envName, role string, maxConns int32, tracer pgx.QueryTracer) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("store: %s is not a valid Postgres URL", envName)
	}
	cfg.ConnConfig.Tracer = tracer
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		if _, err := c.Exec(ctx, "SET ROLE "+role); err != nil {
			return fmt.Errorf("the login of %s cannot SET ROLE %s (grant it: GRANT %s TO <login>): %w", envName, role, role, err)
		}
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open pool: %w", err)
	}
	return pool, nil
}

// checkRoles makes the deployment say what it is: with a system URL, the
// main login must not reach SystemRole (else the split buys nothing);
// without one, it must, or every sign-in would fail later.
func (s *Store) checkRoles(ctx context.Context) error {
	var canSystem bool
	err := s.pool.QueryRow(ctx, "SELECT pg_has_role(session_user, $1, 'MEMBER')", SystemRole).Scan(&canSystem)
	if err != nil {
		return fmt.Errorf("store: check roles: %w", err)
	}
	switch {
	case s.system == nil && !canSystem:
		return errors.New("store: the login of BROKER_DATABASE_URL cannot act across tenants (it is not a member of " +
			SystemRole + "); set BROKER_SYSTEM_DATABASE_URL to a login that is")
	case s.system != nil && canSystem:
		return errors.New("store: BROKER_SYSTEM_DATABASE_URL is set, yet the login of BROKER_DATABASE_URL can act as " +
			SystemRole + " (a superuser or a member): give it a login that is a member of " + AppRole + " only")
	case s.system != nil:
		if err := s.system.Ping(ctx); err != nil {
			return fmt.Errorf("store: BROKER_SYSTEM_DATABASE_URL: %w", err)
		}
	}
	return nil
}

// Ping checks that the database answers, on a connection of its own: a
// main pool busy to its limit is not a database that does not answer.
func (s *Store) Ping(ctx context.Context) error { return s.health.Ping(ctx) }

// Close closes the pools.
func (s *Store) Close() {
	s.pool.Close()
	if s.system != nil {
		s.system.Close()
	}
	s.health.Close()
}

// Pool exposes the pool's statistics for metrics.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ring is the key ring the store seals secrets with.
func (s *Store) Ring() *secrets.Ring { return s.ring }

// inTenant runs fn in a transaction that sees only tenantID's rows. It is the
// one place the tenant is set; set_config(…, true) lasts for the transaction.
func (s *Store) inTenant(ctx context.Context, tenantID string, fn func(pgx.Tx) error) error {
	if tenantID == "" {
		return fmt.Errorf("store: no tenant given: %w", ErrNotFound)
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_config('broker.tenant_id', $1, true)", tenantID); err != nil {
			return fmt.Errorf("set tenant: %w", err)
		}
		return fn(tx)
	})
}

// acrossTenants runs fn in a transaction that sees every tenant's rows. It
// is called only from across.go, where each caller says why it must span
// tenants (TestCrossTenantQueriesLiveInAcrossGo keeps it so).
func (s *Store) acrossTenants(ctx context.Context, fn func(pgx.Tx) error) error {
	if s.system != nil {
		return txOn(ctx, s.system, fn) // its connections already run as SystemRole
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+SystemRole); err != nil {
			return fmt.Errorf("switch to %s: %w", SystemRole, err)
		}
		return fn(tx)
	})
}

func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error { return txOn(ctx, s.pool, fn) }

func txOn(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// mapErr turns Postgres errors the caller can act on into sentinels.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("store: %s: %w", op, ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("store: %s: %w", op, ErrConflict)
		case "22P02", "23503": // invalid uuid text, foreign key: the referenced row is not there
			return fmt.Errorf("store: %s: %w", op, ErrNotFound)
		}
		if strings.HasPrefix(pgErr.Code, "22") { // data exception: bad input, and its text may quote it
			return fmt.Errorf("store: %s: %w (SQLSTATE %s)", op, ErrInvalid, pgErr.Code)
		}
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// notFoundIfNone turns "no rows changed" into ErrNotFound: under RLS another
// tenant's row and a missing row look the same, which is the point.
func notFoundIfNone(op string, tag pgconn.CommandTag, err error) error {
	if err != nil {
		return mapErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: %s: %w", op, ErrNotFound)
	}
	return nil
}
