package main

import (
	"context"
	"io"
	"log/slog"
	"net"

	"github.com/brokerhq/broker/internal/app"
	"github.com/brokerhq/broker/internal/config"
)

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func cmdServe(ctx context.Context, args []string, getenv env, s streams) error {
	fs := newFlags("serve", s)
	noMigrate := fs.Bool("no-migrate", false, "do not migrate; refuse to start on an old schema")
	if err := fs.Parse(args); err != nil {
		return errUsageShown
	}
	cfg, err := config.Load(config.Getenv(getenv), config.Need{Keys: true, SessionKeys: true, Microsoft: true})
	if err != nil {
		return err
	}
	log := newLogger(cfg, s.err)
	a, err := app.New(ctx, app.Options{Config: cfg, Logger: log, NoMigrate: *noMigrate})
	if err != nil {
		return err
	}
	return a.Serve(ctx, cfg.ListenAddr, func(addr net.Addr) {
		log.Info("broker listening", "addr", addr.String(), "public_url", cfg.PublicURL)
	})
}
