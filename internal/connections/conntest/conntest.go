// Package conntest builds what connection tests share: a fresh database, a
// store, the simulated Microsoft identity platform seeded with its demo
// directory, the Microsoft provider pointed at it, a tenant with projects
// and users, and one clock for all of them. It is for tests only.
package conntest

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/auth"
	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
)

// Password is every test user's password.
const Password = "correct horse battery staple"

// Clock is a settable clock shared by the broker and the sim.
type Clock struct {
	mu  sync.Mutex
	off time.Duration
}

// Now is the wall clock plus whatever Advance added: tokens the sim signs
// stay valid for go-oidc, and a test can still age flows.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// Env is one test's world.
type Env struct {
	DBURL    string
	Store    *store.Store
	Clock    *Clock
	Sim      *mssim.Sim
	Demo     mssim.Demo
	SimURL   string // the login host (with Graph and /_sim/)
	MSAURL   string // the Microsoft account host (login.live.com's part)
	IdPURL   string // the federated tenant's identity provider
	MS       *Recorder
	Service  *connections.Service
	Tenant   store.Tenant
	Sales    store.Project
	Support  store.Project
	Admin    store.User // tenant admin: every project
	Member   store.User // member of Sales only
	Redirect string
}

// Recorder is the Microsoft provider, remembering the codes and PKCE
// verifiers it redeemed so a test can look for them in the database.
type Recorder struct {
	*oauth.Microsoft
	mu        sync.Mutex
	Verifiers []string
	Codes     []string
}

// Exchange redeems the code and records it and its verifier.
func (r *Recorder) Exchange(ctx context.Context, authority, code, verifier string) (*oauth.Token, error) {
	r.mu.Lock()
	r.Verifiers, r.Codes = append(r.Verifiers, verifier), append(r.Codes, code)
	r.mu.Unlock()
	return r.Microsoft.Exchange(ctx, authority, code, verifier)
}

// Seen returns what was redeemed so far.
func (r *Recorder) Seen() (verifiers, codes []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.Verifiers...), append([]string(nil), r.Codes...)
}

// New builds an Env whose sim accepts redirectURL for the broker's app.
func New(t testing.TB, redirectURL string) *Env {
	t.Helper()
	ctx := context.Background()
	e := &Env{DBURL: testdb.New(t), Clock: &Clock{}, Redirect: redirectURL}
	e.Store = testdb.OpenStore(t, e.DBURL, store.Options{Now: e.Clock.Now})
	var err error

	// The login host, the Microsoft account host and a federated IdP, each
	// its own origin, as a browser meets them.
	srvs := mssim.StartServers(mssim.Options{Now: e.Clock.Now})
	t.Cleanup(srvs.Close)
	e.Sim = srvs.Sim
	e.Demo = mssim.SeedDemo(e.Sim, mssim.DemoConfig{RedirectURIs: []string{redirectURL}})
	e.SimURL, e.MSAURL, e.IdPURL = srvs.Login.URL, srvs.MSA.URL, srvs.IdP.URL
	e.MS = &Recorder{Microsoft: &oauth.Microsoft{LoginBase: e.SimURL, GraphBase: e.SimURL, ClientID: e.Demo.WebApp.ClientID,
		ClientSecret: e.Demo.WebApp.Secret, RedirectURL: redirectURL, HTTPClient: oauth.NewHTTPClient(), Now: e.Clock.Now}}
	e.Service = connections.New(e.Store, e.MS, e.MS, nil, e.Clock.Now)

	if e.Tenant, err = e.Store.CreateTenant(ctx, "acme", "Acme Corp"); err != nil {
		t.Fatal(err)
	}
	if e.Sales, err = e.Store.CreateProject(ctx, e.Tenant.ID, "Sales"); err != nil {
		t.Fatal(err)
	}
	if e.Support, err = e.Store.CreateProject(ctx, e.Tenant.ID, "Support"); err != nil {
		t.Fatal(err)
	}
	hash, err := auth.CheapParams.Hash(Password)
	if err != nil {
		t.Fatal(err)
	}
	if e.Admin, err = e.Store.CreateUser(ctx, e.Tenant.ID, "ada@acme.test", hash, store.RoleAdmin, nil); err != nil {
		t.Fatal(err)
	}
	if e.Member, err = e.Store.CreateUser(ctx, e.Tenant.ID, "max@acme.test", hash, store.RoleMember, []string{e.Sales.ID}); err != nil {
		t.Fatal(err)
	}
	return e
}

// Actor is u acting from a browser session named session.
func (e *Env) Actor(u store.User, session string) connections.Actor {
	return connections.Actor{TenantID: u.TenantID, UserID: u.ID, Email: u.Email, Admin: u.Role == store.RoleAdmin,
		ProjectIDs: u.ProjectIDs, SessionHash: []byte("session:" + session)}
}

// SignIn plays the person at Microsoft's pages for authorizeURL and returns
// the query Microsoft redirected back with.
func (e *Env) SignIn(t testing.TB, authorizeURL, account string, opts mssim.SignInOptions) connections.CallbackParams {
	t.Helper()
	u, err := mssim.SignIn(context.Background(), &http.Client{}, authorizeURL, account, opts)
	if err != nil {
		t.Fatalf("sign in at the sim as %s: %v", account, err)
	}
	q := u.Query()
	return connections.CallbackParams{State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error"),
		ErrorDescription: q.Get("error_description"), AdminConsent: q.Get("admin_consent"), Issuer: q.Get("iss")}
}

// SessionKeys is the cookie key ring test routers use (test-only).
const SessionKeys = "s1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// SyncBuffer collects log output written from handler goroutines, so a test
// can read the log (and check no secret is in it) without a race.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }
