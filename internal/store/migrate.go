package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/brokerhq/broker/migrations"
)

// Migrator runs the embedded goose migrations as the URL's own user (the
// tables' owner), with a session advisory lock so replicas migrate one at a time.
type Migrator struct {
	db       *sql.DB
	provider *goose.Provider
}

// NewMigrator opens a database/sql handle for goose.
func NewMigrator(databaseURL string) (*Migrator, error) {
	db, err := sql.Open("pgx", databaseURL)
	if err != nil {
		return nil, fmt.Errorf("migrate: BROKER_DATABASE_URL is not a valid Postgres URL")
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithSessionLocker(locker))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return &Migrator{db: db, provider: p}, nil
}

var _ = stdlib.GetDefaultDriver // registers the "pgx" database/sql driver

// Up applies every pending migration and returns how many ran.
func (m *Migrator) Up(ctx context.Context) (int, error) {
	res, err := m.provider.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrate up: %w", err)
	}
	return len(res), nil
}

// MigrationState is one line of `broker migrate status`.
type MigrationState struct {
	Version int64
	Path    string
	Applied bool
}

// Status lists each embedded migration and whether it has been applied.
func (m *Migrator) Status(ctx context.Context) ([]MigrationState, error) {
	st, err := m.provider.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate status: %w", err)
	}
	out := make([]MigrationState, 0, len(st))
	for _, s := range st {
		out = append(out, MigrationState{Version: s.Source.Version, Path: s.Source.Path, Applied: s.State == goose.StateApplied})
	}
	return out, nil
}

// Current reports whether the schema is at the binary's latest version.
func (m *Migrator) Current(ctx context.Context) (bool, error) {
	pending, err := m.provider.HasPending(ctx)
	if err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	return !pending, nil
}

// Close releases the handle.
func (m *Migrator) Close() error { return m.db.Close() }

// CheckReachable connects once, bounded, and reports an unreachable database
// in one line without the URL (it may carry a password).
func CheckReachable(ctx context.Context, databaseURL string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		return fmt.Errorf("database does not answer at BROKER_DATABASE_URL: %s", msg)
	}
	return c.Close(ctx)
}

// SchemaCurrent reports, as the runtime login, whether every embedded
// migration has been applied. It needs no owner rights (migration 00007
// lets AppRole read goose's table), so `serve --no-migrate` can check the
// schema in a least-privilege deployment where only the operator migrates.
func (s *Store) SchemaCurrent(ctx context.Context) (bool, error) {
	want, err := embeddedVersions()
	if err != nil {
		return false, err
	}
	var have []int64
	err = s.pool.QueryRow(ctx, "SELECT COALESCE(array_agg(version_id), '{}') FROM goose_db_version WHERE is_applied").Scan(&have)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "42501") {
		return false, nil // never migrated, or not yet to 00007, which lets AppRole read the table
	}
	if err != nil {
		return false, fmt.Errorf("store: schema version: %w", err)
	}
	for _, v := range want {
		if !slices.Contains(have, v) {
			return false, nil
		}
	}
	return true, nil
}

// embeddedVersions are the versions of the migrations built into the binary.
func embeddedVersions() ([]int64, error) {
	entries, err := fs.ReadDir(migrations.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("store: list migrations: %w", err)
	}
	var out []int64
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		if v, err := strconv.ParseInt(num, 10, 64); ok && err == nil && strings.HasSuffix(e.Name(), ".sql") {
			out = append(out, v)
		}
	}
	return out, nil
}
