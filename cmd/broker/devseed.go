package main

import (
	"context"
	"fmt"

	"github.com/brokerhq/broker/internal/devseed"
)

// cmdDevSeed fills the database with many connections for capacity tests:
// `broker dev seed --connections 1000000`. Never run it on a production
// database: the rows are made up (their refresh tokens are refused by
// Microsoft, so a refresh turns one needs_reauth).
func cmdDevSeed(ctx context.Context, args []string, getenv env, s streams) error {
	fs := newFlags("dev seed", s)
	n := fs.Int("connections", 0, "connections to add (required), e.g. 1000000")
	tenants := fs.Int("tenants", 200, "new tenants to spread them over (sizes follow 1/rank)")
	projects := fs.Int("projects", 5, "projects per tenant")
	if err := fs.Parse(args); err != nil {
		return errUsageShown
	}
	if *n < 1 || *n > 100_000_000 || *tenants < 1 || *tenants > 100_000 || *projects < 1 || *projects > 1000 {
		return fmt.Errorf("--connections must be 1 to 100000000, --tenants 1 to 100000, --projects 1 to 1000")
	}
	st, _, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := devseed.Seed(ctx, st, devseed.Options{Connections: *n, Tenants: *tenants, ProjectsPerTenant: *projects,
		Progress: s.err})
	if err != nil {
		return err
	}
	fmt.Fprintf(s.out, "seeded %d connections over %d tenants (%d projects each) in %s, %.0f rows/s; their refresh tokens are placeholders Microsoft refuses\n",
		res.Rows, len(res.Tenants), *projects, res.Elapsed.Round(100_000_000), float64(res.Rows)/res.Elapsed.Seconds())
	return nil
}
