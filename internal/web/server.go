// Package web is the broker's HTTP layer: the router and its middleware,
// sessions, page rendering and sign-in. Other areas (connections pages, the
// token API, the OAuth callback) mount their routes through Deps.Mount and
// Deps.MountAPI and never build their own stack.
package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/gorilla/securecookie"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/brokerhq/broker/internal/auth"
	"github.com/brokerhq/broker/internal/store"
	assetfs "github.com/brokerhq/broker/web"
)

// Deps is everything the router needs. Store, Logger, PublicURL and
// SessionKeys are required.
type Deps struct {
	Store       *store.Store
	Logger      *slog.Logger
	PublicURL   string // BROKER_PUBLIC_URL: cookie security and the trusted origin
	SessionKeys string // BROKER_SESSION_KEYS: "id:base64,…", first signs
	Now         func() time.Time
	Demo        bool                        // shows "Demo — not for production" on every page
	Ready       func(context.Context) error // extra /readyz check (schema current); an *Error's message is shown
	// Notices are broker-wide conditions (the broker's own app registration
	// failing, its secret expiring) shown as a banner to operators and
	// tenant admins on every page; ReadyDetail adds lines to /readyz's body
	// without failing it. Either may be nil.
	Notices     func() []Notice
	ReadyDetail func() []string

	// Mount registers browser areas: sessions, viewer, flash and the
	// cross-origin check apply. Each function gets its own group, so it may
	// call r.Use (e.g. RequireSignIn) before its routes.
	Mount []func(r chi.Router, ui *UI)
	// MountAPI registers routes under /api/ (patterns relative to it): no
	// cookies are read and no cross-origin check runs; bearer keys instead.
	MountAPI []func(r chi.Router, ui *UI)
	// Home serves the signed-in home page ("/") when set: an area's
	// dashboard. Without it the page only welcomes.
	Home http.HandlerFunc

	Registry  *prometheus.Registry       // default: NewRegistry()
	Limiter   *auth.Limiter              // default: auth.NewLimiter with Now
	Passwords auth.Params                // cost of the stand-in check for unknown emails and refused attempts; default auth.DefaultParams
	ClientIP  func(*http.Request) string // default: RemoteAddr's host; set it when behind a proxy
	// SSOBreakGlass (BROKER_SSO_BREAK_GLASS) are the emails that may still
	// sign in with a password when their tenant requires single sign-on.
	SSOBreakGlass []string
}

// Server is the built router. It is an http.Handler.
type Server struct {
	router      chi.Router
	ui          *UI
	store       *store.Store
	logger      *slog.Logger
	now         func() time.Time
	ready       func(context.Context) error
	readyDetail func() []string
	metrics     *httpMetrics
	registry    *prometheus.Registry
	limiter     *auth.Limiter
	passwords   auth.Params
	standIn     string // a hash with passwords' cost that no password matches
	clientIP    func(*http.Request) string
	breakGlass  []string
	homePage    http.HandlerFunc
}

// NewRouter builds the broker's HTTP handler.
func NewRouter(d Deps) (http.Handler, error) { return New(d) }

// New builds the router and keeps its parts reachable (UI, metrics).
func New(d Deps) (*Server, error) {
	if d.Store == nil || d.Logger == nil {
		return nil, errors.New("web: Deps.Store and Deps.Logger are required")
	}
	pub, err := parsePublicURL(d.PublicURL)
	if err != nil {
		return nil, err
	}
	keys, err := parseKeyRing(d.SessionKeys)
	if err != nil {
		return nil, err
	}
	s := &Server{store: d.Store, logger: d.Logger, now: d.Now, ready: d.Ready, readyDetail: d.ReadyDetail, registry: d.Registry,
		limiter: d.Limiter, passwords: d.Passwords, clientIP: d.ClientIP, breakGlass: d.SSOBreakGlass, homePage: d.Home}
	if s.now == nil {
		s.now = time.Now
	}
	if s.registry == nil {
		s.registry = NewRegistry()
	}
	if s.limiter == nil {
		s.limiter = auth.NewLimiter(auth.LimiterConfig{Now: s.now})
	}
	if s.passwords == (auth.Params{}) {
		s.passwords = auth.DefaultParams
	}
	s.standIn = s.passwords.StandIn()
	if s.clientIP == nil {
		s.clientIP = remoteHost
	}
	if s.metrics, err = newHTTPMetrics(s.registry); err != nil {
		return nil, fmt.Errorf("web: register metrics: %w", err)
	}
	if err := s.registry.Register(newPoolCollector(d.Store.Pool())); err != nil {
		return nil, fmt.Errorf("web: register pool metrics: %w", err)
	}
	if s.ui, err = newUI(d, pub, keys, s.now); err != nil {
		return nil, err
	}
	cop, err := s.ui.crossOrigin(pub.origin)
	if err != nil {
		return nil, err
	}

	r := chi.NewRouter()
	r.Use(requestID, securityHeaders(pub.https), s.observe, s.recoverer)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { s.ui.ErrorPage(w, r, http.StatusNotFound, "") })
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		s.ui.ErrorPage(w, r, http.StatusMethodNotAllowed, "This address does not take that kind of request.")
	})
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	r.Get("/static/*", s.ui.assets.ServeHTTP)
	r.Head("/static/*", s.ui.assets.ServeHTTP)
	if len(d.MountAPI) > 0 { // chi panics on a mounted router with no routes
		r.Route("/api", func(api chi.Router) {
			api.Use(APIHeaders)
			for _, m := range d.MountAPI {
				m(api.Group(nil), s.ui)
			}
		})
	}
	r.Group(func(b chi.Router) {
		b.Use(cop, s.ui.loadFlash, s.ui.loadViewer)
		b.Get("/login", s.loginPage)
		b.Post("/login", s.login)
		b.Post("/logout", s.logout)
		b.With(RequireSignIn).Get("/", s.home)
		for _, m := range d.Mount {
			m(b.Group(nil), s.ui)
		}
	})
	if len(s.ui.missing) > 0 {
		return nil, fmt.Errorf("web: templates missing: %v", s.ui.missing)
	}
	s.router = r
	return s, nil
}

func newUI(d Deps, pub publicURL, ring keyRing, now func() time.Time) (*UI, error) {
	keys := ring.keys
	a, err := newAssets(assetfs.Static)
	if err != nil {
		return nil, err
	}
	pages, err := parsePages(assetfs.Templates, template.FuncMap{"asset": a.url})
	if err != nil {
		return nil, err
	}
	// securecookie checks cookie age against the wall clock; the database
	// row is the real authority, so its limit only needs to be no tighter.
	sessionCodecs, err := codecs(keys, "session", securecookie.NopEncoder{}, int((AbsoluteTimeout+time.Hour)/time.Second))
	if err != nil {
		return nil, err
	}
	flashCodecs, err := codecs(keys, "flash", securecookie.JSONEncoder{}, int(flashTTL/time.Second))
	if err != nil {
		return nil, err
	}
	sealed, err := codecs(keys, "sealed", securecookie.JSONEncoder{}, int(sealedTTL/time.Second))
	if err != nil {
		return nil, err
	}
	connectCodecs, err := codecs(keys, "connect", securecookie.JSONEncoder{}, int(ConnectCookieTTL/time.Second))
	if err != nil {
		return nil, err
	}
	ui := &UI{store: d.Store, logger: d.Logger, now: now, demo: d.Demo, notices: d.Notices, pages: pages, assets: a,
		flashes: flashCodecs, sealed: sealed, connect: connectCodecs}
	ui.sessions = &Sessions{store: d.Store, now: now, log: d.Logger, codecs: sessionCodecs, keyIDs: ring.ids,
		cookie: newCookieSpec(pub.https)}
	return ui, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// UI is the page kit areas receive in Mount, for use outside it (tests).
func (s *Server) UI() *UI { return s.ui }

// Metrics serves this server's Prometheus registry; the lead mounts it.
func (s *Server) Metrics() http.Handler { return MetricsHandler(s.registry) }

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
