package clienttest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	brokerclient "github.com/brokerhq/broker/client"
	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/app"
	"github.com/brokerhq/broker/internal/config"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

const (
	keys         = "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	metricsToken = "clienttest-metrics-token-0123456789abcdef"
)

// env is a real broker (app.New, served on loopback with its workers) in
// front of the simulated Microsoft, with a tenant, a project and an API key.
type env struct {
	ms      *tokenstest.Microsoft
	app     *app.App
	url     string
	tenant  store.Tenant
	project store.Project
	key     string
	client  *brokerclient.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{ms: tokenstest.StartMicrosoft()}
	t.Cleanup(e.ms.Server.Close)
	vars := map[string]string{"BROKER_DATABASE_URL": testdb.New(t), "BROKER_ENCRYPTION_KEYS": keys, "BROKER_SESSION_KEYS": keys,
		"BROKER_MICROSOFT_CLIENT_ID": e.ms.Demo.WebApp.ClientID, "BROKER_MICROSOFT_CLIENT_SECRET": e.ms.Demo.WebApp.Secret,
		"BROKER_MICROSOFT_LOGIN_URL": e.ms.Server.URL, "BROKER_MICROSOFT_GRAPH_URL": e.ms.Server.URL,
		"BROKER_LISTEN_ADDR": "127.0.0.1:0", "BROKER_METRICS_TOKEN": metricsToken}
	cfg, err := config.Load(func(k string) string { return vars[k] }, config.Need{Keys: true, SessionKeys: true, Microsoft: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.app, err = app.New(ctx, app.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: e.ms.Sim.Now})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	addr, served := make(chan net.Addr, 1), make(chan error, 1)
	go func() { served <- e.app.Serve(ctx, cfg.ListenAddr, func(a net.Addr) { addr <- a }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-served:
		case <-time.After(20 * time.Second):
			t.Error("broker did not stop")
		}
	})
	e.url = "http://" + (<-addr).String()
	if e.tenant, err = e.app.Store.CreateTenant(ctx, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	if e.project, err = e.app.Store.CreateProject(ctx, e.tenant.ID, "Sales"); err != nil {
		t.Fatal(err)
	}
	if e.key, _, err = apikeys.Create(ctx, e.app.Store, apikeys.NewKey{TenantID: e.tenant.ID, Name: "client tests"}); err != nil {
		t.Fatal(err)
	}
	e.client = brokerclient.New(e.url, e.key)
	return e
}

// conn makes a connection with a real (simulated) sign-in.
func (e *env) conn(t *testing.T, c tokenstest.Conn) store.Connection {
	t.Helper()
	c.TenantID, c.ProjectID = e.tenant.ID, e.project.ID
	if c.Name == "" {
		c.Name = "mailbox"
	}
	if c.UPN == "" {
		c.UPN = e.ms.Demo.Adele.UPN
	}
	conn, err := e.ms.Create(context.Background(), e.app.Store, c)
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// tokensHanded is what the broker's usage audit counted for a connection:
// the broker calls the client made for its token.
func (e *env) tokensHanded(t *testing.T, connID string) (cached, refreshed int64) {
	t.Helper()
	ctx := context.Background()
	if err := e.app.Usage.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := e.app.Store.ListTokenUsage(ctx, e.tenant.ID, store.TokenUsageFilter{ConnectionID: connID})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		cached, refreshed = cached+r.Cached, refreshed+r.Refreshed
	}
	return cached, refreshed
}
