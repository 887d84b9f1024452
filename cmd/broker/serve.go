package main

import (
	"context"
	"io"
	"log/slog"
	"net"

	"github.com/brokerhq/broker/internal/app"
	"github.com/brokerhq/broker/internal/config"
	"github.com/brokerhq/broker/internal/logsafe"
)

// newLogger writes cfg's format and level; no value in a line is longer
// than logsafe.DefaultMax, whatever a request sent.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(logsafe.Handler(h, logsafe.DefaultMax))
}

func cmdServe(ctx context.Context, args []string, getenv env, s streams) error {
	fs := newFlags("serve", s)
	noMigrate := fs.Bool("no-migrate", false, "do not migrate; refuse to start on an old schema")
	if err := parseFlags(fs, args, s); err != nil {
		return err
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
