// Package store holds every SQL statement of the broker. All tenant-owned data
// is read and written through inTenant, which sets the tenant for one
// transaction; Postgres row-level security does the rest, so a query that
// forgets its tenant sees nothing rather than everything.
package store

import (
	"context"
	"errors"
	"fmt"
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
// its policies admit every row. Only SET LOCAL, so it ends with the transaction.
const SystemRole = "broker_system"

var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// Store is the broker's Postgres store.
type Store struct {
	pool *pgxpool.Pool
	// health is one connection of its own for Ping, so /readyz reports the
	// database as it is, not the main pool as busy.
	health *pgxpool.Pool
	ring   *secrets.Ring
	now    func() time.Time
}

// Options tune Open.
type Options struct {
	MaxConns int32 // 0: pgx's default, max(4, CPUs)
	Now      func() time.Time
}

// Open connects a pool whose connections run as AppRole.
func Open(ctx context.Context, databaseURL string, ring *secrets.Ring, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("store: BROKER_DATABASE_URL is not a valid Postgres URL")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, "SET ROLE "+AppRole)
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open pool: %w", err)
	}
	hcfg := cfg.Copy()
	hcfg.MaxConns, hcfg.MinConns = 1, 0
	health, err := pgxpool.NewWithConfig(ctx, hcfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: open pool: %w", err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Store{pool: pool, health: health, ring: ring, now: now}, nil
}

// Ping checks that the database answers, on a connection of its own: a
// main pool busy to its limit is not a database that does not answer.
func (s *Store) Ping(ctx context.Context) error { return s.health.Ping(ctx) }

// Close closes the pools.
func (s *Store) Close() {
	s.pool.Close()
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

// acrossTenants runs fn in a transaction that sees every tenant's rows. Keep
// its callers few and named for their purpose (operator views, sign-in,
// background refresh, key rotation): grep for acrossTenants to audit them.
func (s *Store) acrossTenants(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+SystemRole); err != nil {
			return fmt.Errorf("switch to %s: %w", SystemRole, err)
		}
		return fn(tx)
	})
}

func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
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
