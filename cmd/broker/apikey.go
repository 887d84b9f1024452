package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/store"
)

// cmdAPIKeyCreate creates an API key for a tenant, optionally limited to
// projects, and prints it once: only its hash is stored.
func cmdAPIKeyCreate(ctx context.Context, args []string, getenv env, s streams) error {
	fs := newFlags("apikey create", s)
	tenant := fs.String("tenant", "", "tenant slug")
	name := fs.String("name", "", "what the key is for, e.g. billing-sync")
	admin := fs.Bool("admin", false, "allow the admin API too, not only token fetches")
	operator := fs.Bool("operator", false, "a platform operator's key for the admin API across tenants (no --tenant)")
	rate := fs.Float64("rate", 0, "the key's own rate limit in requests per second per replica (default: BROKER_API_KEY_RATE)")
	burst := fs.Int("burst", 0, "requests the key may send at once above --rate (default: BROKER_API_KEY_BURST, scaled to --rate)")
	var projects multiFlag
	fs.Var(&projects, "project", "project whose connections the key may use (repeatable; default: all)")
	if err := parseFlags(fs, args, s); err != nil {
		return err
	}
	limit, err := keyLimit(fs, *rate, *burst)
	if err != nil {
		return err
	}
	if *operator {
		if *tenant != "" || len(projects) > 0 || *admin || limit.rate != nil || limit.burst != nil {
			return fmt.Errorf("--operator keys belong to no tenant: leave out --tenant, --project, --admin, --rate and --burst")
		}
		return createOperatorKey(ctx, strings.TrimSpace(*name), getenv, s)
	}
	if err := required("tenant", *tenant, "name", *name); err != nil {
		return err
	}
	if n := len(strings.TrimSpace(*name)); n > 100 {
		return fmt.Errorf("--name must be at most 100 characters")
	}
	st, _, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	t, ps, err := tenantAndProjects(ctx, st, *tenant, projects)
	if err != nil {
		return err
	}
	var projectIDs, projectNames []string
	for _, p := range ps {
		projectIDs, projectNames = append(projectIDs, p.ID), append(projectNames, p.Name)
	}
	key, row, err := apikeys.Create(ctx, st, apikeys.NewKey{TenantID: t.ID, Name: *name, ProjectIDs: projectIDs, Admin: *admin,
		Rate: limit.rate, Burst: limit.burst})
	if err != nil {
		return err
	}
	// The audit record names the key by ID and prefix, never the key.
	if err := st.AppendAudit(ctx, store.AuditEvent{TenantID: t.ID, ActorType: "system", ActorLabel: "broker apikey create",
		Action: "api_key.created", Details: map[string]any{"api_key_id": row.ID, "prefix": row.Prefix, "name": row.Name,
			"projects": projectNames, "scope": row.Scope, "rate": row.Rate, "burst": row.Burst}}); err != nil {
		return err
	}
	scope := "every project"
	if len(projectNames) > 0 {
		scope = "projects " + strings.Join(projectNames, ", ")
	}
	fmt.Fprintf(s.out, "API key %q created in %s for %s (id %s, prefix %s, scope %s, rate limit %s)\n", row.Name, t.Slug, scope,
		row.ID, row.Prefix, row.Scope, apikeys.DescribeLimit(row.Rate, row.Burst))
	fmt.Fprintf(s.out, "key (shown once; store it now): %s\n", key)
	return nil
}

// createOperatorKey makes a platform operator's key for /api/v1/admin/….
func createOperatorKey(ctx context.Context, name string, getenv env, s streams) error {
	if name == "" || len(name) > 100 {
		return fmt.Errorf("--name must be 1-100 characters")
	}
	st, _, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	key, row, err := apikeys.Create(ctx, st, apikeys.NewKey{Name: name, Operator: true})
	if err != nil {
		return err
	}
	if err := st.AppendAudit(ctx, store.AuditEvent{ActorType: "system", ActorLabel: "broker apikey create",
		Action: "api_key.created", Details: map[string]any{"api_key_id": row.ID, "prefix": row.Prefix, "name": row.Name,
			"scope": row.Scope}}); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "operator API key %q created for the admin API across tenants (id %s, prefix %s)\n", row.Name, row.ID, row.Prefix)
	fmt.Fprintf(s.out, "key (shown once; store it now): %s\n", key)
	return nil
}

// ownLimit is a key's own rate limit as given on the command line: nil
// fields were not given (the server's default applies).
type ownLimit struct {
	rate  *float64
	burst *int
}

func keyLimit(fs *flag.FlagSet, rate float64, burst int) (ownLimit, error) {
	var l ownLimit
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "rate":
			l.rate = &rate
		case "burst":
			l.burst = &burst
		}
	})
	if err := apikeys.CheckLimit(l.rate, l.burst); err != nil {
		return l, fmt.Errorf("--rate must be more than 0 and at most 1000000 (requests per second), --burst from 1 to 1000000")
	}
	return l, nil
}
