// Command pgcheck tells `make test` whether the test Postgres answers, in one
// line, so a missing database is a clear instruction rather than a wall of
// connection errors from every test.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/testdb"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, testdb.AdminURL())
	if err == nil {
		err = c.Ping(ctx)
		c.Close(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "make test: Postgres does not answer at BROKER_TEST_DATABASE_URL (default localhost:5432); start it with `docker compose up -d postgres` or `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`")
		os.Exit(1)
	}
}
