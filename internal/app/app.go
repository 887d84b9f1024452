// Package app wires the broker together: store, identity platform, web
// areas, API and background workers, and runs them with an ordered shutdown.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strings"
	"sync/atomic"
	"time"

	"github.com/brokerhq/broker/internal/admin"
	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/apphealth"
	"github.com/brokerhq/broker/internal/config"
	"github.com/brokerhq/broker/internal/connect"
	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/graphproxy"
	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tenantapps"
	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/web"
	"github.com/brokerhq/broker/internal/webhooks"
)

// Options are what a run of the broker needs beyond its configuration.
type Options struct {
	Config     *config.Config
	Logger     *slog.Logger
	Now        func() time.Time
	HTTPClient *http.Client // for Microsoft; default oauth.NewHTTPClient()
	NoMigrate  bool
	// ReadTimeout bounds reading a whole request, headers and body
	// (default DefaultReadTimeout); tests shorten it.
	ReadTimeout time.Duration
}

// DefaultReadTimeout bounds how long a request, headers and body, may take
// to arrive. The broker's bodies are small (forms, JSON of a few KB): 30
// seconds is generous for a slow phone and short for a connection held open
// by a body sent a byte at a time. It does not bound the handler: net/http
// lifts the read deadline once the body is read, so a request waiting on
// Microsoft keeps its context.
const DefaultReadTimeout = 30 * time.Second

// App is a wired broker.
type App struct {
	Store    *store.Store
	Handler  http.Handler
	Provider *oauth.Microsoft
	// Health watches the broker's own app registration; Guarded is Provider
	// behind it, what everything that authenticates as that app uses.
	Health  *apphealth.Monitor
	Guarded *apphealth.Guard
	// Apps are tenants' own app registrations (internal/tenantapps).
	Apps    *tenantapps.Registry
	Tokens  *tokens.Service
	Keys    *apikeys.Verifier
	Usage   *tokens.Usage
	admin   *admin.Service
	connect *connect.Service // connect links (areas.go)
	// appsService manages tenants' app registrations (areas.go).
	appsService *tenantapps.Service
	logger      *slog.Logger

	graph      *graphproxy.Proxy // graph.go
	graphAudit *graphproxy.Audit

	metrics     http.Handler
	metricsAddr string // BROKER_METRICS_ADDR: /metrics on its own listener, off the public one
	readTimeout time.Duration
	workers     []worker

	background    *store.Store // the background workers' pool
	webhookStore  *store.Store // the webhook delivery worker's pool (webhooks.go)
	WebhookGuard  *webhooks.Guard
	Webhooks      *webhooks.Service
	WebhookWorker *webhooks.Worker // run by Serve with the other workers
	shutdownDelay time.Duration    // BROKER_SHUTDOWN_DELAY: /readyz 503 before the listener stops
	draining      atomic.Bool
}

// backgroundConns sizes the workers' pool: two keep-alive claims and
// housekeeping at once.
const backgroundConns = 3

// worker is a background loop that stops when its context ends.
type worker struct {
	name string
	run  func(ctx context.Context)
}

// New migrates (unless told not to, in which case an old schema is refused),
// opens the store and builds the router.
func New(ctx context.Context, o Options) (*App, error) {
	cfg := o.Config
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTPClient == nil {
		o.HTTPClient = oauth.NewHTTPClient()
	}
	if err := migrateOrCheck(ctx, cfg, o.NoMigrate, o.Logger); err != nil {
		return nil, err
	}
	// Pools by purpose: requests (sized by BROKER_DATABASE_MAX_CONNS) and
	// background workers (keep-alive scans, housekeeping) apart, so neither
	// can take the other's connections; /readyz pings on one of its own.
	st, err := store.Open(ctx, cfg.DatabaseURL, cfg.EncryptionKeys, store.Options{Now: o.Now,
		MaxConns: int32(cfg.DatabaseMaxConns), SystemURL: cfg.SystemDatabaseURL})
	if err != nil {
		return nil, dbUnreachable(err)
	}
	if o.NoMigrate {
		if err := checkSchema(ctx, st); err != nil {
			st.Close()
			return nil, err
		}
	}
	bg, err := store.Open(ctx, cfg.DatabaseURL, cfg.EncryptionKeys, store.Options{Now: o.Now,
		MaxConns: backgroundConns, SystemURL: cfg.SystemDatabaseURL})
	if err != nil {
		st.Close()
		return nil, err
	}
	a := &App{Store: st, background: bg, logger: o.Logger, shutdownDelay: cfg.ShutdownDelay}
	a.Provider = &oauth.Microsoft{LoginBase: cfg.LoginBase(), GraphBase: cfg.GraphBase(), GraphResource: cfg.GraphResource(),
		ClientID: cfg.MicrosoftClientID, ClientSecret: cfg.MicrosoftClientSecret,
		RedirectURL: cfg.RedirectURL(), HTTPClient: o.HTTPClient, Now: o.Now}
	if cfg.MicrosoftCertificate != nil { // a nil *Certificate in the interface would not be nil
		a.Provider.Credential = cfg.MicrosoftCertificate
	}
	a.Health = apphealth.New(apphealth.Options{Now: o.Now, SecretExpiresAt: cfg.MicrosoftSecretExpiresAt,
		Certificate: cfg.MicrosoftCertificate != nil})
	a.Guarded = &apphealth.Guard{Provider: a.Provider, Monitor: a.Health}
	a.Apps = &tenantapps.Registry{Store: st, Broker: a.Guarded, Base: a.Provider, Logger: o.Logger, Now: o.Now}
	a.Tokens = tokens.New(st, a.Guarded, tokens.Options{Now: o.Now, Logger: o.Logger, MaxRefreshes: cfg.RefreshMaxInFlight,
		CacheMax: cfg.TokenCacheMax, Apps: a.Apps})
	a.Keys = apikeys.NewVerifier(st, apikeys.Options{Now: o.Now, Logger: o.Logger, Rate: cfg.APIKeyRate, Burst: cfg.APIKeyBurst})
	a.Usage = tokens.NewUsage(st, o.Now, o.Logger, 0)
	deps := web.Deps{
		Store: st, Logger: o.Logger, PublicURL: cfg.PublicURL, SessionKeys: cfg.SessionKeys, Now: o.Now,
		Demo: cfg.Demo, SSOBreakGlass: cfg.SSOBreakGlass,
		Ready:       a.ready(newSchemaCheck(st, o.Now).ready),
		Registry:    web.NewRegistry(),
		Notices:     a.notices,
		ReadyDetail: func() []string { return []string{a.Health.Detail()} },
	}
	if err := deps.Registry.Register(a.Health); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.newGraphProxy(o, deps.Registry); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.newWebhooks(ctx, cfg, &deps, o); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.mountAreas(ctx, &deps, o); err != nil {
		a.Close()
		return nil, err
	}
	srv, err := web.New(deps)
	if err != nil {
		a.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	// /metrics tells an outsider too much (traffic, errors, pool use): it is
	// served on its own address, or with a bearer token, or not at all.
	a.metrics = web.APIHeaders(srv.Metrics())
	if cfg.MetricsToken != "" {
		a.metrics = web.APIHeaders(web.RequireBearer(cfg.MetricsToken, srv.Metrics()))
	}
	a.metricsAddr = cfg.MetricsAddr
	switch {
	case cfg.MetricsAddr != "":
	case cfg.MetricsToken != "":
		mux.Handle("/metrics", a.metrics)
	default:
		o.Logger.Info("metrics are off: set BROKER_METRICS_ADDR (e.g. 127.0.0.1:9090) or BROKER_METRICS_TOKEN to serve /metrics")
	}
	// The token API is the hot path: it has its own bearer-key auth and
	// stays outside the browser middleware (sessions, cross-origin checks).
	apiHandler := srv.ObserveAPI(a.apiRouter(o))
	mux.Handle("/api/v1/", apiHandler)
	mux.Handle("/", srv)
	a.Handler = apiFirst(apiHandler, mux)
	a.readTimeout = o.ReadTimeout
	if a.readTimeout <= 0 {
		a.readTimeout = DefaultReadTimeout
	}
	a.workers = append(a.workers,
		worker{"housekeeping", func(ctx context.Context) { housekeeping(ctx, bg, o.Now, o.Logger) }},
		worker{"token cache", func(ctx context.Context) { a.Tokens.Run(ctx) }},
		worker{"api keys", func(ctx context.Context) { a.Keys.Run(ctx) }},
		worker{"token usage", func(ctx context.Context) { a.Usage.Run(ctx) }},
		worker{"graph audit", func(ctx context.Context) { a.graphAudit.Run(ctx) }},
		worker{"keep-alive", func(ctx context.Context) { a.Tokens.KeepAlive(tokens.KeepAliveOptions{Store: bg}).Run(ctx) }},
	)
	return a, nil
}

// migrateOrCheck migrates with the owner's URL (BROKER_MIGRATE_DATABASE_URL,
// else BROKER_DATABASE_URL) unless told not to; then only reachability is
// checked here, and the schema by checkSchema as the runtime login.
func migrateOrCheck(ctx context.Context, cfg *config.Config, noMigrate bool, log *slog.Logger) error {
	if err := store.CheckReachable(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	if noMigrate {
		return nil
	}
	m, err := store.NewMigrator(cfg.MigrateURL())
	if err != nil {
		return err
	}
	defer m.Close()
	n, err := m.Up(ctx)
	if err != nil {
		return dbUnreachable(err)
	}
	if n > 0 {
		log.Info("schema migrated", "applied", n)
	}
	return nil
}

// checkSchema refuses a schema older than the binary (serve --no-migrate).
func checkSchema(ctx context.Context, st *store.Store) error {
	ok, err := st.SchemaCurrent(ctx)
	if err != nil {
		return dbUnreachable(err)
	}
	if !ok {
		return errors.New("the database schema is older than this binary; run `broker migrate up` or start without --no-migrate")
	}
	return nil
}

func dbUnreachable(err error) error {
	return fmt.Errorf("database at BROKER_DATABASE_URL: %w", err)
}

// Serve listens on addr and runs until ctx ends, then shuts down in order:
// stop accepting and drain in-flight requests (bounded), stop the workers,
// close the pool.
func (a *App) Serve(ctx context.Context, addr string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	if a.metricsAddr != "" {
		mln, err := net.Listen("tcp", a.metricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on BROKER_METRICS_ADDR %s: %w", a.metricsAddr, err)
		}
		ms := &http.Server{Handler: metricsOnly(a.metrics), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: a.readTimeout}
		go ms.Serve(mln)
		defer ms.Close()
	}
	hs := &http.Server{Handler: a.Handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: a.readTimeout,
		IdleTimeout: 120 * time.Second,
		ErrorLog:    slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn)}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	for _, w := range a.workers {
		go func() {
			defer func() { done <- struct{}{} }()
			w.run(workCtx)
		}()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr())
	}
	select {
	case err := <-serveErr:
		stopWork()
		return err
	case <-ctx.Done():
	}
	// Not ready first, still serving: load balancers see /readyz turn 503
	// and stop sending before the listener closes.
	a.draining.Store(true)
	if a.shutdownDelay > 0 {
		a.logger.Info("shutting down: /readyz answers 503", "delay", a.shutdownDelay)
		time.Sleep(a.shutdownDelay)
	}
	a.logger.Info("shutting down: draining requests")
	drainCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := hs.Shutdown(drainCtx); err != nil {
		a.logger.Warn("drain cut short", "err", err)
	}
	stopWork()
	a.Tokens.Close()
	for range a.workers {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			a.logger.Warn("a worker did not stop in time")
		}
	}
	a.Close()
	a.logger.Info("stopped")
	return nil
}

// notices are the app registration's banners, in the web layer's words.
func (a *App) notices() []web.Notice {
	var out []web.Notice
	for _, n := range a.Health.Notices() {
		out = append(out, web.Notice{Level: n.Level, Title: n.Title, Text: n.Text})
	}
	return out
}

// Close releases what New opened, for callers that never Serve.
func (a *App) Close() {
	a.Store.Close()
	a.background.Close()
	if a.webhookStore != nil {
		a.webhookStore.Close()
	}
}

// housekeeping deletes expired sessions and OAuth flows, and new
// connections whose sign-in never succeeded within connections.PendingTTL.
func housekeeping(ctx context.Context, st *store.Store, now func() time.Time, log *slog.Logger) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		if _, err := st.DeleteExpiredSessions(ctx, now()); err != nil && ctx.Err() == nil {
			log.Warn("housekeeping: sessions", "err", err)
		}
		if _, err := st.DeleteExpiredFlows(ctx, now().Add(-time.Hour)); err != nil && ctx.Err() == nil {
			log.Warn("housekeeping: flows", "err", err)
		}
		if _, err := st.PruneConnectionDeletions(ctx, now().Add(-store.TombstoneKeep)); err != nil && ctx.Err() == nil {
			log.Warn("housekeeping: connection tombstones", "err", err)
		}
		// Connect sessions answer GET for 30 days after they expire, then go.
		if _, err := st.DeleteOldConnectSessions(ctx, now().Add(-30*24*time.Hour)); err != nil && ctx.Err() == nil {
			log.Warn("housekeeping: connect sessions", "err", err)
		}
		if n, err := st.DeleteAbandonedConnections(ctx, now().Add(-connections.PendingTTL), now()); err != nil && ctx.Err() == nil {
			log.Warn("housekeeping: abandoned sign-ins", "err", err)
		} else if n > 0 {
			log.Info("housekeeping: removed connections whose sign-in never succeeded", "count", n, "after", connections.PendingTTL)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// metricsOnly serves /metrics and nothing else.
func metricsOnly(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	return mux
}

// apiFirst hands a request for /api/v1/ with a clean path straight to api,
// where mux would send it, and everything else (other paths, paths mux
// redirects to their clean form, CONNECT) to mux: the token endpoint then
// skips mux's pattern matching, which allocates per request (issue 17).
func apiFirst(api, mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; strings.HasPrefix(p, "/api/v1/") && r.Method != http.MethodConnect && path.Clean(p) == strings.TrimSuffix(p, "/") {
			api.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}
