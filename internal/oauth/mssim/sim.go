package mssim

import (
	"crypto/rsa"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Sim. The zero value is usable.
type Options struct {
	// Now is the base clock; Advance adds to it. Defaults to time.Now.
	Now func() time.Time
	// BaseURL is the login host as clients see it (e.g. "http://127.0.0.1:8081").
	// It is used for issuers, discovery documents and error_uri. Empty means
	// "scheme and host of each request", which fits httptest servers.
	BaseURL string
	// GraphBaseURL is where Graph is reachable, without "/v1.0". Empty means
	// the host of each request (Handler serves Graph under /v1.0 itself).
	GraphBaseURL string
	// MSABaseURL is the Microsoft account host (login.live.com's stand-in)
	// and IdPBaseURL the federated tenants' identity provider (an AD FS), as
	// browsers see them. Empty: the request's own host, which serves those
	// paths too (see hosts.go).
	MSABaseURL, IdPBaseURL string
	// Cloud is the national cloud the sim plays: "global" (default), "usgov",
	// "usgov-dod" or "china". It decides Graph's resource identifier in
	// scopes (cloud.go). Another value panics in New.
	Cloud string
	// SigningKey signs id_tokens. Empty means one RSA key generated per process
	// and shared by every Sim, because generating one per test is slow.
	SigningKey *rsa.PrivateKey
}

// Lifetimes are the token lifetimes the sim issues. The defaults are the
// platform's: access tokens a random 60–90 minutes, codes 10 minutes,
// refresh tokens die after 90 days without use.
type Lifetimes struct {
	AccessMin, AccessMax time.Duration // delegated access tokens: uniform in [min, max]
	AppAccess            time.Duration // client_credentials access tokens
	Code                 time.Duration
	RefreshInactive      time.Duration
	IDToken              time.Duration
}

// DefaultLifetimes returns the platform's lifetimes.
func DefaultLifetimes() Lifetimes {
	return Lifetimes{
		AccessMin:       60 * time.Minute,
		AccessMax:       90 * time.Minute,
		AppAccess:       60 * time.Minute,
		Code:            10 * time.Minute,
		RefreshInactive: 90 * 24 * time.Hour,
		IDToken:         60 * time.Minute,
	}
}

// Sim is a simulated Microsoft identity platform plus Graph. It is safe for
// concurrent use; everything it knows lives in memory.
type Sim struct {
	opts   Options
	clock  func() time.Time
	offset atomic.Int64 // added to clock by Advance, in nanoseconds
	seq    atomic.Int64 // orders sign-ins against revocations

	lifeMu sync.RWMutex
	life   Lifetimes

	graphRes string // this cloud's Graph resource identifier

	dir       *directory
	keys      *signer
	codes     shardMap[*authCode]
	refresh   shardMap[*refreshToken]
	access    shardMap[*accessToken]
	flows     shardMap[*flow]
	asserts   shardMap[*assertion]
	sessions  shardMap[*session]
	counts    *counters
	faults    faults
	appStates appStates // the broker app's disabled state (appstate.go)
	certs     appCerts  // certificates on apps, spent assertions (certs.go)
	mail      mailState // graphmail.go
	seen      authzSeen // the last authorize request (authorize_seen.go)

	login, graph, admin, msa, idp http.Handler
}

// New returns an empty Sim: only the consumers tenant exists. Register
// tenants, users and apps with the Add* methods, or call SeedDemo.
func New(opts Options) *Sim {
	s := &Sim{opts: opts, clock: opts.Now, life: DefaultLifetimes()}
	if s.clock == nil {
		s.clock = time.Now
	}
	res, err := CloudGraphResource(opts.Cloud)
	if err != nil {
		panic(err.Error())
	}
	s.graphRes = res
	s.opts.BaseURL = strings.TrimSuffix(opts.BaseURL, "/")
	s.opts.GraphBaseURL = strings.TrimSuffix(opts.GraphBaseURL, "/")
	s.opts.MSABaseURL = strings.TrimSuffix(opts.MSABaseURL, "/")
	s.opts.IdPBaseURL = strings.TrimSuffix(opts.IdPBaseURL, "/")
	s.dir = newDirectory()
	s.keys = newSigner(opts.SigningKey)
	s.counts = newCounters()
	s.login = s.loginRoutes()
	s.graph = s.graphMail(http.HandlerFunc(s.serveGraph))
	s.admin = s.adminRoutes()
	s.msa = s.msaRoutes()
	s.idp = s.idpRoutes()
	return s
}

// Now is the sim's current time: the base clock plus everything Advance added.
func (s *Sim) Now() time.Time {
	return s.clock().Add(time.Duration(s.offset.Load()))
}

// Advance moves the sim's clock forward by d, e.g. 91 days to let refresh
// tokens die of inactivity, or 11 minutes to expire an authorization code.
func (s *Sim) Advance(d time.Duration) { s.offset.Add(int64(d)) }

// SetLifetimes replaces the token lifetimes; zero fields keep their value.
func (s *Sim) SetLifetimes(l Lifetimes) {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	set := func(dst *time.Duration, v time.Duration) {
		if v > 0 {
			*dst = v
		}
	}
	set(&s.life.AccessMin, l.AccessMin)
	set(&s.life.AccessMax, l.AccessMax)
	set(&s.life.AppAccess, l.AppAccess)
	set(&s.life.Code, l.Code)
	set(&s.life.RefreshInactive, l.RefreshInactive)
	set(&s.life.IDToken, l.IDToken)
	if s.life.AccessMax < s.life.AccessMin {
		s.life.AccessMax = s.life.AccessMin
	}
}

// Lifetimes returns the token lifetimes in force.
func (s *Sim) Lifetimes() Lifetimes {
	s.lifeMu.RLock()
	defer s.lifeMu.RUnlock()
	return s.life
}

// Handler serves the login endpoints at the root, Graph under /v1.0/ and the
// control API under /_sim/, all from one address; and the Microsoft account
// host's and the federated IdP's paths too, for a sim whose Options leave
// those hosts unset.
func (s *Sim) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == msaAuthorizePath || strings.HasPrefix(r.URL.Path, "/ppsecure/"):
			s.msa.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, "/adfs/"):
			s.idp.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, "/v1.0/"):
			s.graph.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, "/_sim/"):
			s.admin.ServeHTTP(w, r)
		default:
			s.login.ServeHTTP(w, r)
		}
	})
}

// LoginHandler serves only the identity platform endpoints.
func (s *Sim) LoginHandler() http.Handler { return s.login }

// GraphHandler serves only Graph (paths start with /v1.0/), for tests that
// want Graph at its own base URL.
func (s *Sim) GraphHandler() http.Handler { return s.graph }

// AdminHandler serves only the JSON control API (paths start with /_sim/).
func (s *Sim) AdminHandler() http.Handler { return s.admin }

// loginBase is the login host as the client sees it.
func (s *Sim) loginBase(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return s.opts.BaseURL
	}
	return requestBase(r)
}

// graphBase is the Graph host as the client sees it.
func (s *Sim) graphBase(r *http.Request) string {
	if s.opts.GraphBaseURL != "" {
		return s.opts.GraphBaseURL
	}
	return requestBase(r)
}

func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
