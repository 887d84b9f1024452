package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// EnsureDatabase creates the database databaseURL names when the server
// answers that it does not exist (SQLSTATE 3D000), connecting to the
// server's "postgres" database to do so. It reports whether it created it.
// Only `broker demo` calls it: a production database is the operator's to
// create. When the role may not create databases, the error says in one
// line how to do it by hand.
func EnsureDatabase(ctx context.Context, databaseURL string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, databaseURL)
	if err == nil {
		return false, c.Close(ctx)
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "3D000" {
		return false, CheckReachable(ctx, databaseURL)
	}
	u, err := url.Parse(databaseURL)
	if err != nil {
		return false, fmt.Errorf("store: ensure database: BROKER_DATABASE_URL is not a URL")
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	admin, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return false, fmt.Errorf("database %q does not exist; create it with: createdb %s", name, name)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42P04" { // created meanwhile
			return false, nil
		}
		return false, fmt.Errorf("database %q does not exist and could not be created (%s); create it with: createdb %s", name, pgMessage(err), name)
	}
	return true, nil
}

func pgMessage(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Message
	}
	return "no answer"
}
