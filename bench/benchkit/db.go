// Package benchkit is what the benchmark programs share: a fresh, migrated
// Postgres database of their own and a description of the machine. Create
// makes the database beside the admin URL's; its drop function removes it.
package benchkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/store"
)

// Create makes a database named prefix_<random> from adminURL, migrates
// it, and returns its URL and a function that drops it.
func Create(ctx context.Context, adminURL, prefix string) (string, func(), error) {
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("Postgres does not answer at %s: %w", Redact(adminURL), err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := prefix + "_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close(ctx)
		return "", nil, err
	}
	drop := func() {
		admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close(context.Background())
	}
	u, _ := url.Parse(adminURL)
	u.Path = "/" + name
	m, err := store.NewMigrator(u.String())
	if err == nil {
		_, err = m.Up(ctx)
		m.Close()
	}
	if err != nil {
		drop()
		return "", nil, err
	}
	return u.String(), drop, nil
}

// Redact hides a URL's password for messages.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the configured URL"
	}
	return u.Redacted()
}

// Connect opens one plain connection, for a version query or a seeding COPY.
func Connect(ctx context.Context, url string) (*pgx.Conn, error) { return pgx.Connect(ctx, url) }
