// Package admintest builds what the admin pages' and admin API's tests
// share: the whole broker router on a real listener (connection pages, admin
// pages, token API, admin API) next to the simulated Microsoft, with two
// tenants, an operator and connections of every kind, and a cookie-keeping
// browser. It is for tests only.
package admintest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/admin"
	"github.com/brokerhq/broker/internal/adminapi"
	"github.com/brokerhq/broker/internal/adminweb"
	"github.com/brokerhq/broker/internal/api"
	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/auth"
	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/connections/conntest"
	"github.com/brokerhq/broker/internal/connweb"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tenantapps"
	"github.com/brokerhq/broker/internal/tenantappsweb"
	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/web"
	"github.com/brokerhq/broker/internal/webhooks"
)

// Server is the whole broker router on a real listener: the connection
// pages (connweb), the admin pages, the token API and the admin API, next to
// the simulated Microsoft, with two tenants, an operator and connections.
type Server struct {
	*conntest.Env
	URL      string
	Logs     *conntest.SyncBuffer
	Tokens   *tokens.Service
	Usage    *tokens.Usage
	Verifier *apikeys.Verifier
	AdminSvc *admin.Service
	Webhooks *webhooks.Service   // receivers on 127.0.0.1 allowed, as an operator would for local ones
	Apps     *tenantapps.Service // tenants' own app registrations, verified at the sim

	Operator store.Operator
	Globex   store.Tenant
	GlobexOp store.Project
	GilAdmin store.User // admin of Globex

	SalesConn   store.Connection // acme, Sales, authorization code, active (Adele)
	SupportConn store.Connection // acme, Support, authorization code, active (Alex)
	AppConn     store.Connection // acme, Sales, client credentials, active
	GlobexConn  store.Connection // globex, authorization code, active (Pat)
}

// New starts a Server on 127.0.0.1 for a parallel test.
func New(t *testing.T) *Server {
	t.Helper()
	t.Parallel()
	return NewAt(t, "127.0.0.1")
}

// NewAt serves the broker as http://host:port; browser tests use
// "localhost", so the sim at 127.0.0.1 is another site.
func NewAt(t testing.TB, host string) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	s := &Server{URL: "http://" + host + ":" + port, Logs: &conntest.SyncBuffer{}}
	s.Env = conntest.New(t, s.URL+"/oauth/callback")
	logger := slog.New(slog.NewJSONHandler(s.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	now := s.Clock.Now
	s.Tokens = tokens.New(s.Store, s.MS, tokens.Options{Now: now, Logger: logger})
	t.Cleanup(s.Tokens.Close)
	s.Usage = tokens.NewUsage(s.Store, now, logger, time.Hour)
	s.Verifier = apikeys.NewVerifier(s.Store, apikeys.Options{Now: now, Logger: logger})
	s.AdminSvc = admin.New(s.Store, s.Tokens, s.MS, s.MS, s.Verifier, logger, now)
	s.seed(t)

	s.Webhooks = &webhooks.Service{Store: s.Store, Now: now, Guard: &webhooks.Guard{AllowHTTPHosts: []string{"127.0.0.1"},
		AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}}
	adm := adminweb.New(s.AdminSvc)
	adm.Webhooks = s.Webhooks
	conn := connweb.New(connweb.Options{Store: s.Store, Provider: s.MS, Graph: s.MS, RedirectURL: s.Redirect, Logger: logger, Now: now, Admin: adm})
	tokenAPI := api.New(s.Store, s.Tokens, s.Verifier, s.Usage, logger, now)
	adminAPI := adminapi.New(s.AdminSvc, s.Verifier, logger)
	adminAPI.Webhooks = s.Webhooks
	s.Apps = &tenantapps.Service{Store: s.Store, Verifier: s.MS, RedirectURL: s.Redirect, Logger: logger, Now: now}
	adminAPI.Apps = s.Apps
	router, err := web.New(web.Deps{Store: s.Store, Logger: logger, PublicURL: s.URL, SessionKeys: conntest.SessionKeys,
		Now: now, Passwords: auth.CheapParams,
		Mount: []func(chi.Router, *web.UI){conn.Mount, adm.Mount, tenantappsweb.New(s.Apps).Mount}, Home: adm.Home,
		MountAPI: []func(chi.Router, *web.UI){
			func(r chi.Router, _ *web.UI) { r.Route("/v1", tokenAPI.Routes) },
			adminAPI.MountAPI,
		}})
	if err != nil {
		t.Fatal(err)
	}
	hs := &httptest.Server{Listener: ln, Config: &http.Server{Handler: router}}
	hs.Start()
	t.Cleanup(hs.Close)
	return s
}

func (s *Server) seed(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	var err error
	hash, _ := auth.CheapParams.Hash(conntest.Password)
	if s.Operator, err = s.Store.CreateOperator(ctx, "olive@broker.test", hash); err != nil {
		t.Fatal(err)
	}
	if s.Globex, err = s.Store.CreateTenant(ctx, "globex", "Globex"); err != nil {
		t.Fatal(err)
	}
	if s.GlobexOp, err = s.Store.CreateProject(ctx, s.Globex.ID, "Ops"); err != nil {
		t.Fatal(err)
	}
	if s.GilAdmin, err = s.Store.CreateUser(ctx, s.Globex.ID, "gil@globex.test", hash, store.RoleAdmin, nil); err != nil {
		t.Fatal(err)
	}
	adminActor := s.Actor(s.Admin, "seed")
	s.SalesConn = s.SignInConnection(t, adminActor, s.Sales.ID, "Sales inbox", s.Demo.Adele.UPN)
	s.SupportConn = s.SignInConnection(t, adminActor, s.Support.ID, "Support inbox", s.Demo.Alex.UPN)
	s.GlobexConn = s.SignInConnection(t, s.Actor(s.GilAdmin, "seed"), s.GlobexOp.ID, "Globex ops", s.Demo.Pat.UPN)
	f := &connections.Form{Name: "Daemon", ProjectID: s.Sales.ID, AccountType: connections.AccountTenant,
		MSTenant: s.Demo.Contoso.ID, AuthType: connections.AuthClientCredentials, UserPrincipal: s.Demo.Adele.UPN,
		ClientID: s.Demo.DaemonApp.ClientID, ClientSecret: s.Demo.DaemonApp.Secret}
	out, err := s.Service.Submit(ctx, adminActor, f)
	if err != nil {
		t.Fatalf("client credentials connection: %v %v", err, f.Errors)
	}
	s.AppConn = out.Connection
}

// SignInConnection creates an authorization code connection the way a
// person does: the form, Microsoft's pages, the callback.
func (s *Server) SignInConnection(t testing.TB, a connections.Actor, projectID, name, upn string) store.Connection {
	t.Helper()
	ctx := context.Background()
	f := &connections.Form{Name: name, ProjectID: projectID, AccountType: connections.AccountCommon,
		AuthType: connections.AuthCode, Scopes: connections.DefaultScopes()}
	out, err := s.Service.Submit(ctx, a, f)
	if err != nil {
		t.Fatalf("submit %s: %v %v", name, err, f.Errors)
	}
	res, err := s.Service.Complete(ctx, a, true, s.SignIn(t, out.RedirectURL, upn, mssim.SignInOptions{}))
	if err != nil {
		t.Fatalf("sign in %s: %v", name, err)
	}
	return res.Connection
}

// SetStatus puts a connection in a status as the token service would.
func (s *Server) SetStatus(t testing.TB, c store.Connection, ev store.StatusEvent) store.Connection {
	t.Helper()
	out, err := s.Store.UpdateConnection(context.Background(), c.TenantID, c.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
		return store.ConnectionUpdate{Status: &ev}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Tokens.Invalidate(c.ID)
	return out
}

// Conn reads a connection with its credentials, as it is now.
func (s *Server) Conn(c store.Connection) (store.Connection, store.Credentials, error) {
	return s.Store.ConnectionWithCredentials(context.Background(), c.TenantID, c.ID)
}

// APIKey makes an API key of the tenant and returns the key itself.
func (s *Server) APIKey(t testing.TB, tenantID, name string, adminScope bool, projects ...string) string {
	t.Helper()
	key, _, err := apikeys.Create(context.Background(), s.Store, apikeys.NewKey{TenantID: tenantID, Name: name,
		ProjectIDs: projects, Admin: adminScope})
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// Browser is a cookie-keeping client that does not follow redirects.
type Browser struct {
	T testing.TB
	S *Server
	C *http.Client
}

// Browser returns a new browser with no cookies.
func (s *Server) Browser(t testing.TB) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{T: t, S: s, C: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Response is an answer with its body read.
type Response struct {
	*http.Response
	Body string
}

// Do sends a request with the browser's cookies.
func (b *Browser) Do(req *http.Request) Response {
	b.T.Helper()
	res, err := b.C.Do(req)
	if err != nil {
		b.T.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return Response{res, string(body)}
}

// Get fetches a path of the broker.
func (b *Browser) Get(path string) Response {
	b.T.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.S.URL+path, nil)
	return b.Do(req)
}

// Post sends a same-origin form, as a page of the broker does.
func (b *Browser) Post(path string, form url.Values) Response {
	b.T.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.S.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.Do(req)
}

// SignIn signs the browser in with the test password.
func (b *Browser) SignIn(email string) *Browser {
	b.T.Helper()
	res := b.Post("/login", url.Values{"email": {email}, "password": {conntest.Password}})
	WantStatus(b.T, res, http.StatusSeeOther)
	return b
}

// API calls the REST API with a bearer key.
func (s *Server) API(t testing.TB, method, path, key, body string) Response {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return Response{res, string(b)}
}

// WantStatus fails the test unless res has the status.
func WantStatus(t testing.TB, res Response, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body:\n%s", res.Request.Method, res.Request.URL.Path, res.StatusCode, want, res.Body)
	}
}

// WantRedirect fails the test unless res is a 303 to want.
func WantRedirect(t testing.TB, res Response, want string) {
	t.Helper()
	WantStatus(t, res, http.StatusSeeOther)
	if got := res.Header.Get("Location"); got != want {
		t.Fatalf("%s %s: Location %q, want %q", res.Request.Method, res.Request.URL.Path, got, want)
	}
}

// WantBody fails the test unless the body holds every part.
func WantBody(t testing.TB, res Response, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(res.Body, p) {
			t.Errorf("%s %s: body lacks %q", res.Request.Method, res.Request.URL.Path, p)
		}
	}
	if t.Failed() {
		t.Fatalf("body:\n%s", res.Body)
	}
}

// WantNotInBody fails the test if the body holds any part.
func WantNotInBody(t testing.TB, res Response, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if p != "" && strings.Contains(res.Body, p) {
			t.Fatalf("%s %s: body shows %q", res.Request.Method, res.Request.URL.Path, p)
		}
	}
}
