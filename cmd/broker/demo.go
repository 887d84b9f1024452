package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/brokerhq/broker/internal/app"
	"github.com/brokerhq/broker/internal/config"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
)

// cmdDemo runs the broker against the simulated Microsoft platform with a
// seeded demo tenant. Demo mode is only ever on when asked for: `broker
// serve` never seeds users or trusts the simulation.
func cmdDemo(ctx context.Context, args []string, getenv env, s streams) error {
	fs := newFlags("demo", s)
	simURL := fs.String("microsoft-url", "", "use a simulation already running at this URL (default: start one on 127.0.0.1:8081)")
	simAddr := fs.String("microsoft-addr", "127.0.0.1:8081", "where to start the in-process simulation's login host")
	msaAddr := fs.String("microsoft-msa-addr", "127.0.0.1:8082", "its Microsoft account host (personal accounts sign in there)")
	idpAddr := fs.String("microsoft-idp-addr", "127.0.0.1:8083", "its federated identity provider (Northwind's accounts sign in there)")
	simState := fs.String("microsoft-state", "", "the simulation's state file, so a restart breaks no connection (default: $BROKER_DEMO_MICROSOFT_STATE, else demo-microsoft-state.json in the user cache directory)")
	noMigrate := fs.Bool("no-migrate", false, "do not migrate (the operator ran broker migrate up); refuse an old schema")
	if err := parseFlags(fs, args, s); err != nil {
		return err
	}
	defaults := map[string]string{
		// Demo keys, for local use only: printed in the README and compose file.
		"BROKER_ENCRYPTION_KEYS": "demo1:ZGVtby1vbmx5LWVuY3J5cHRpb24ta2V5LTAwMDAwMDA=",
		"BROKER_SESSION_KEYS":    "demo1:ZGVtby1vbmx5LXNlc3Npb24ta2V5LTAwMDAwMDAwMDA=",
	}
	demoEnv := func(k string) string {
		if v := getenv(k); v != "" || getenv(k+"_FILE") != "" {
			return v
		}
		return defaults[k]
	}
	cfg, err := config.Load(config.Getenv(demoEnv), config.Need{Keys: true, SessionKeys: true, Microsoft: true, Demo: true})
	if err != nil {
		return err
	}
	cfg.Demo = true
	cfg.MicrosoftClientID, cfg.MicrosoftClientSecret = mssim.DemoWebClientID, mssim.DemoWebClientSecret
	log := newLogger(cfg, s.err)

	base := strings.TrimRight(*simURL, "/")
	if base == "" {
		state := demoStatePath(*simState, getenv)
		sim, err := mssim.Start(mssim.ServeConfig{Addr: *simAddr, MSAAddr: *msaAddr, IdPAddr: *idpAddr,
			StatePath: state, Cloud: cfg.MicrosoftCloud, RedirectURIs: []string{cfg.RedirectURL(), cfg.SSORedirectURL()}})
		if err != nil {
			return fmt.Errorf("start the simulated Microsoft platform: %w", err)
		}
		base = sim.LoginURL
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := sim.Stop(sctx); err != nil {
				log.Error("stop the simulated Microsoft platform", "err", err)
			}
		}()
		log.Info("simulated Microsoft platform", "login", sim.LoginURL, "microsoft_account", sim.MSAURL,
			"federated_idp", sim.IdPURL, "state_file", state, "restored", sim.Restored)
	}
	cfg.MicrosoftLoginURL, cfg.MicrosoftGraphURL = base, base

	// The demo runs on a machine with Postgres and nothing else set up:
	// create its database when the server says it does not exist.
	created, err := store.EnsureDatabase(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	if created {
		log.Info("created the demo database named in BROKER_DATABASE_URL")
	}
	a, err := app.New(ctx, app.Options{Config: cfg, Logger: log, NoMigrate: *noMigrate})
	if err != nil {
		return err
	}
	seed, err := app.SeedDemo(ctx, a)
	if err != nil {
		a.Close()
		return fmt.Errorf("seed the demo: %w", err)
	}
	err = a.Serve(ctx, cfg.ListenAddr, func(addr net.Addr) {
		printDemo(s, cfg, base, seed)
	})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// demoStatePath is where the in-process simulation keeps its state: the
// flag, else BROKER_DEMO_MICROSOFT_STATE, else a file in the user's cache
// directory (empty, i.e. not kept, if there is none).
func demoStatePath(flag string, getenv env) string {
	if flag != "" {
		return flag
	}
	if v := getenv("BROKER_DEMO_MICROSOFT_STATE"); v != "" {
		return v
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	dir = filepath.Join(dir, "broker")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return ""
	}
	return filepath.Join(dir, "demo-microsoft-state.json")
}

func printDemo(s streams, cfg *config.Config, simBase string, d app.DemoSeed) {
	w := s.out
	fmt.Fprintf(w, `
==================================================================
 broker DEMO — simulated Microsoft, demo keys. Not for production.
==================================================================
 Open      %s
 Sign in   %s  /  %s   (demo admin)
           %s  /  %s   (demo member: sees only the %s project)
 Microsoft %s  (simulated login.microsoftonline.com + Graph)

 Sign in to Microsoft as any of these demo accounts (no password):
   %s
   (Fabrikam needs an admin's consent for .Shared permissions: make its connection
    Tenant-specific, fabrikam.onmicrosoft.com, and consent as admin@fabrikam.onmicrosoft.com.)
 Client credentials (Tenant-specific) with the demo daemon app:
   Tenant ID/Domain %s   User ID %s
   Client ID %s   Client secret %s
`, cfg.PublicURL, d.AdminEmail, d.AdminPassword, d.MemberEmail, d.AdminPassword, d.MemberProject, simBase, strings.Join(d.Accounts, ", "),
		d.DaemonTenant, d.DaemonUser, d.DaemonClientID, d.DaemonSecret)
	if d.APIKey != "" {
		fmt.Fprintf(w, `
 Fetch a token for the demo connection %q:
   curl -s -H 'Authorization: Bearer %s' %s/api/v1/connections/%s/token
`, d.ConnectionName, d.APIKey, cfg.PublicURL, d.ConnectionID)
	}
	fmt.Fprintln(w, "==================================================================")
}
