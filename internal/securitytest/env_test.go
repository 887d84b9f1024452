package securitytest

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/app"
	"github.com/brokerhq/broker/internal/auth"
	"github.com/brokerhq/broker/internal/config"
	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/connections/conntest"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
)

const (
	encKeys     = "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	sessionKeys = "s1:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="
	bPassword   = "globex-admin-password-1"
)

// broker is one whole broker with two tenants: A is the demo tenant
// (app.SeedDemo), B a second one with its own admin, connection and keys.
type broker struct {
	URL, DBURL, SimURL string
	App                *app.App
	Sim                *mssim.Sim
	Demo               mssim.Demo
	Logs               *conntest.SyncBuffer
	A                  app.DemoSeed
	B                  tenantB
}

type tenantB struct {
	Tenant           store.Tenant
	Project          store.Project
	Admin            store.User
	Conn             store.Connection
	TokenKey, AdmKey string
}

// start runs the broker; opts adjust app.Options (e.g. a shorter ReadTimeout).
func start(t *testing.T, opts ...func(*app.Options)) *broker {
	t.Helper()
	t.Parallel()
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &broker{URL: "http://" + ln.Addr().String(), DBURL: testdb.New(t), Logs: &conntest.SyncBuffer{}}
	b.Sim = mssim.New(mssim.Options{})
	b.Demo = mssim.SeedDemo(b.Sim, mssim.DemoConfig{RedirectURIs: []string{b.URL + "/oauth/callback"}})
	sim := httptest.NewServer(b.Sim.Handler())
	t.Cleanup(sim.Close)
	b.SimURL = sim.URL

	logins := testdb.LeastPrivilege(t, b.DBURL)
	env := map[string]string{"BROKER_DATABASE_URL": logins.App, "BROKER_SYSTEM_DATABASE_URL": logins.System,
		"BROKER_ENCRYPTION_KEYS": encKeys, "BROKER_SESSION_KEYS": sessionKeys, "BROKER_PUBLIC_URL": b.URL,
		"BROKER_MICROSOFT_CLIENT_ID": mssim.DemoWebClientID, "BROKER_MICROSOFT_CLIENT_SECRET": mssim.DemoWebClientSecret,
		"BROKER_MICROSOFT_LOGIN_URL": sim.URL, "BROKER_MICROSOFT_GRAPH_URL": sim.URL}
	cfg, err := config.Load(func(k string) string { return env[k] }, config.Need{Keys: true, SessionKeys: true, Microsoft: true})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(b.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o := app.Options{Config: cfg, Logger: logger, NoMigrate: true}
	for _, opt := range opts {
		opt(&o)
	}
	b.App, err = app.New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.App.Close)
	if b.A, err = app.SeedDemo(ctx, b.App); err != nil {
		t.Fatal(err)
	}
	b.seedB(t)
	hs := &httptest.Server{Listener: ln, Config: &http.Server{Handler: b.App.Handler}}
	hs.Start()
	t.Cleanup(hs.Close)
	return b
}

func (b *broker) seedB(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	st := b.App.Store
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	b.B.Tenant, err = st.CreateTenant(ctx, "globex", "Globex")
	must(err)
	b.B.Project, err = st.CreateProject(ctx, b.B.Tenant.ID, "Ops")
	must(err)
	hash, err := auth.CheapParams.Hash(bPassword)
	must(err)
	b.B.Admin, err = st.CreateUser(ctx, b.B.Tenant.ID, "boss@globex.test", hash, store.RoleAdmin, nil)
	must(err)
	b.B.Conn, err = st.CreateConnection(ctx, store.NewConnection{TenantID: b.B.Tenant.ID, ProjectID: b.B.Project.ID,
		Name: "Globex robot", AccountType: "tenant", AuthType: "client_credentials", MSTenant: mssim.DemoContosoDomain,
		ClientID: mssim.DemoDaemonClientID, UserPrincipal: "adele@" + mssim.DemoContosoDomain,
		RequestedScopes: []string{"https://graph.microsoft.com/.default"}, Status: "active",
		ClientSecret: mssim.DemoDaemonClientSecret})
	must(err)
	b.B.TokenKey, _, err = apikeys.Create(ctx, st, apikeys.NewKey{TenantID: b.B.Tenant.ID, Name: "globex-sync"})
	must(err)
	b.B.AdmKey, _, err = apikeys.Create(ctx, st, apikeys.NewKey{TenantID: b.B.Tenant.ID, Name: "globex-admin", Admin: true})
	must(err)
}

// client is a browser: it keeps cookies, does not follow redirects, and
// marks its form posts same-origin as a browser would.
type client struct {
	t *testing.T
	b *broker
	c *http.Client
}

type response struct {
	*http.Response
	Body string
}

func (b *broker) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, b: b, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	res, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return response{res, string(body)}
}

func (c *client) url(target string) string {
	if strings.HasPrefix(target, "/") {
		return c.b.URL + target
	}
	return target
}

func (c *client) get(target string) response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.url(target), nil)
	return c.do(req)
}

func (c *client) post(path string, form url.Values) response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.url(path), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.do(req)
}

// bearer calls the API with an API key.
func (c *client) bearer(key, path string) response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.url(path), nil)
	req.Header.Set("Authorization", "Bearer "+key)
	return c.do(req)
}

func (c *client) signIn(email, password string) *client {
	c.t.Helper()
	res := c.post("/login", url.Values{"email": {email}, "password": {password}})
	if res.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("sign in as %s: %d\n%s", email, res.StatusCode, res.Body)
	}
	return c
}

// signInA is tenant A's (the demo tenant's) admin; signInB is tenant B's.
func (b *broker) signInA(t *testing.T) *client {
	return b.client(t).signIn(b.A.AdminEmail, b.A.AdminPassword)
}
func (b *broker) signInB(t *testing.T) *client { return b.client(t).signIn(b.B.Admin.Email, bPassword) }

// newConnectionForm is the New connection form for an authorization code
// connection in project.
func newConnectionForm(name, project string) url.Values {
	v := url.Values{"name": {name}, "project": {project}, "account_type": {"common"},
		"auth_type": {"authorization_code"}, "scopes_shown": {"1"}}
	for _, sc := range connections.DefaultScopes() {
		v.Add("scope", sc)
	}
	return v
}

// toMicrosoft plays the person at the simulated Microsoft pages from the
// broker's hand-off page (a 200 that moves the browser on, see
// connweb/handoff.go) and returns the callback URL Microsoft sends them to.
func (c *client) toMicrosoft(res response, account string) string {
	c.t.Helper()
	m := reHandoff.FindStringSubmatch(res.Body)
	if res.StatusCode != http.StatusOK || m == nil {
		c.t.Fatalf("want the hand-off page to Microsoft, got %d\n%.600s", res.StatusCode, res.Body)
	}
	back, err := mssim.SignIn(context.Background(), &http.Client{}, html.UnescapeString(m[1]), account, mssim.SignInOptions{})
	if err != nil {
		c.t.Fatalf("at Microsoft as %s: %v", account, err)
	}
	return back.String()
}

var reHandoff = regexp.MustCompile(`<meta http-equiv="refresh" content="0;url=([^"]+)">`)

func wantStatus(t *testing.T, res response, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d\n%.600s", res.Request.Method, res.Request.URL.Path, res.StatusCode, want, res.Body)
	}
}

// projectID is tenant A's project by name.
func (b *broker) projectID(t *testing.T, name string) string {
	t.Helper()
	p, err := b.App.Store.ProjectByName(context.Background(), b.A.TenantID, name)
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}
