package tokens_test

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

// env is one database and one simulated Microsoft; each replica made from
// it has its own connection pool and its own token service, as separate
// broker processes would.
type env struct {
	ms      *tokenstest.Microsoft
	guard   *tokenstest.ReuseGuard // revokes a chain on refresh token reuse
	url     string
	st      *store.Store
	tenant  store.Tenant
	other   store.Tenant
	project store.Project
	second  store.Project
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{url: testdb.New(t)}
	e.ms, e.guard = tokenstest.StartStrictMicrosoft()
	t.Cleanup(func() {
		if n := e.guard.Reuses.Load(); n > 0 {
			t.Errorf("a refresh token was presented twice (%d times): the chain is revoked", n)
		}
	})
	t.Cleanup(e.ms.Server.Close)
	e.st = openStore(t, e.url)
	ctx := context.Background()
	var err error
	if e.tenant, err = e.st.CreateTenant(ctx, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	if e.other, err = e.st.CreateTenant(ctx, "globex", "Globex"); err != nil {
		t.Fatal(err)
	}
	if e.project, err = e.st.CreateProject(ctx, e.tenant.ID, "Sales"); err != nil {
		t.Fatal(err)
	}
	if e.second, err = e.st.CreateProject(ctx, e.tenant.ID, "Support"); err != nil {
		t.Fatal(err)
	}
	return e
}

func openStore(t *testing.T, url string) *store.Store {
	t.Helper()
	return testdb.OpenStore(t, url, store.Options{MaxConns: 8})
}

// replica is another broker process: its own pool and service.
func (e *env) replica(t *testing.T, opts tokens.Options) *tokens.Service {
	return e.replicaWith(t, e.ms.Provider(), opts)
}

func (e *env) replicaWith(t *testing.T, p oauth.Provider, opts tokens.Options) *tokens.Service {
	svc, _ := e.replicaStore(t, p, opts)
	return svc
}

// replicaStore is replicaWith that also returns the replica's store, to
// kill it.
func (e *env) replicaStore(t *testing.T, p oauth.Provider, opts tokens.Options) (*tokens.Service, *store.Store) {
	t.Helper()
	if opts.Now == nil {
		opts.Now = e.ms.Sim.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler) // the failures tests cause are expected
	}
	st := openStore(t, e.url)
	svc := tokens.New(st, p, opts)
	t.Cleanup(svc.Close)
	return svc, st
}

// conn creates a connection in the env's tenant and first project unless told otherwise.
func (e *env) conn(t *testing.T, c tokenstest.Conn) store.Connection {
	t.Helper()
	if c.TenantID == "" {
		c.TenantID = e.tenant.ID
	}
	if c.ProjectID == "" {
		c.ProjectID = e.project.ID
	}
	if c.Name == "" {
		c.Name = "mailbox"
	}
	if c.UPN == "" {
		c.UPN = e.ms.Demo.Adele.UPN
	}
	conn, err := e.ms.Create(context.Background(), e.st, c)
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// refreshes counts refresh_token requests that reached the simulation.
func (e *env) refreshes() int64 { return e.ms.Sim.Count(mssim.EndpointToken, "refresh_token") }

func (e *env) stored(t *testing.T, id string) (store.Connection, store.Credentials) {
	t.Helper()
	c, cr, err := e.st.ConnectionWithCredentials(context.Background(), e.tenant.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return c, cr
}

func wantCode(t *testing.T, err error, code tokens.Code) *tokens.Error {
	t.Helper()
	te, ok := tokens.AsError(err)
	if !ok || te.Code != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
	return te
}

// dropConnections ends every other session on the test database, as a
// network cut or a database restart would, and reports how many it ended.
func dropConnections(t *testing.T, url string) int {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int
	if err := c.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// gate holds the first token request it sees until released (or, if
// honourCtx, until its context ends) and then fails it without sending it:
// a refresh holder stuck talking to Microsoft. With forward, a released
// request goes on to Microsoft as a frozen process would send it when it
// wakes, if its context still allows.
type gate struct {
	base      http.RoundTripper
	honourCtx bool
	forward   bool
	entered   chan struct{}
	release   chan struct{}
	once      sync.Once
}

func newGate(honourCtx bool) *gate {
	return &gate{base: http.DefaultTransport, honourCtx: honourCtx, entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	first := false
	g.once.Do(func() { first = true; close(g.entered) })
	if !first {
		return g.base.RoundTrip(r)
	}
	if g.honourCtx {
		select {
		case <-g.release:
		case <-r.Context().Done():
		}
	} else {
		<-g.release
	}
	if g.forward {
		return g.base.RoundTrip(r)
	}
	return nil, &resetError{}
}

type resetError struct{}

func (*resetError) Error() string { return "connection reset by peer" }

func (e *env) gatedProvider(g *gate) *oauth.Microsoft {
	p := e.ms.Provider()
	p.HTTPClient = &http.Client{Transport: g}
	return p
}
