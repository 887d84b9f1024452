package main

import (
	"context"
	"fmt"

	"github.com/brokerhq/broker/internal/config"
	"github.com/brokerhq/broker/internal/store"
)

func cmdMigrate(ctx context.Context, sub string, getenv env, s streams) error {
	cfg, err := config.Load(config.Getenv(getenv), config.Need{})
	if err != nil {
		return err
	}
	m, err := store.NewMigrator(cfg.MigrateURL())
	if err != nil {
		return err
	}
	defer m.Close()
	if sub == "status" {
		st, err := m.Status(ctx)
		if err != nil {
			return fmt.Errorf("database does not answer at %s: %s", migrateEnv(cfg), pgReason(err))
		}
		for _, x := range st {
			state := "pending"
			if x.Applied {
				state = "applied"
			}
			fmt.Fprintf(s.out, "%05d  %-8s %s\n", x.Version, state, x.Path)
		}
		return nil
	}
	n, err := m.Up(ctx)
	if err != nil {
		return fmt.Errorf("%s", pgReason(err))
	}
	fmt.Fprintf(s.out, "applied %d migration(s); schema is current\n", n)
	return nil
}

// migrateEnv names the variable migrations took their URL from.
func migrateEnv(cfg *config.Config) string {
	if cfg.MigrateDatabaseURL != "" {
		return "BROKER_MIGRATE_DATABASE_URL"
	}
	return "BROKER_DATABASE_URL"
}
