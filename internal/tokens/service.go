// Package tokens hands out fresh access tokens for connections: from memory
// when it can (no database query, no call to Microsoft), from Postgres when
// another replica has a good one, and otherwise by one refresh at Microsoft
// per connection, however many callers and replicas ask at once: callers in
// a process share one flight (singleflight), and processes take the
// connection's row lock in Postgres for the refresh, then re-read.
package tokens

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
)

// Options tune a Service; zero values take the defaults.
type Options struct {
	Now    func() time.Time
	Logger *slog.Logger
	// RefreshTimeout bounds one refresh, retries and lock wait included
	// (default 20s). A caller's own deadline bounds its wait for it.
	RefreshTimeout time.Duration
	// Lease bounds how long a refresh may hold the row lock idle while
	// Microsoft answers (default 30s, above RefreshTimeout): a holder that
	// hangs loses its session, and the lock, to Postgres after it.
	Lease time.Duration
	// AttemptTimeout bounds one request to Microsoft (default 10s).
	AttemptTimeout time.Duration
	// MaxAttempts, BackoffBase and BackoffMax shape the retries of transient
	// failures: capped exponential back-off with full jitter (4, 200ms, 5s).
	MaxAttempts             int
	BackoffBase, BackoffMax time.Duration
	// RefreshAhead starts a background refresh when a token served from
	// memory has less than this left (default 10m), so callers with the
	// default min_ttl never wait for Microsoft.
	RefreshAhead time.Duration
	// ForceCooldown: a forced refresh within this of the last refresh gets
	// that refresh's token instead of a new one (default 10s).
	ForceCooldown time.Duration
	// PollInterval is how often cached connections are checked against
	// Postgres for changes made elsewhere (default 1s).
	PollInterval time.Duration
	// TouchInterval is how often last use is written (default 1m).
	TouchInterval time.Duration
}

func (o *Options) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.RefreshTimeout, 20*time.Second)
	def(&o.Lease, 30*time.Second)
	def(&o.AttemptTimeout, 10*time.Second)
	def(&o.BackoffBase, 200*time.Millisecond)
	def(&o.BackoffMax, 5*time.Second)
	def(&o.RefreshAhead, 10*time.Minute)
	def(&o.ForceCooldown, 10*time.Second)
	def(&o.PollInterval, time.Second)
	def(&o.TouchInterval, time.Minute)
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 4
	}
}

// Service is the token service. One per process; safe for concurrent use.
type Service struct {
	st       *store.Store
	provider oauth.Provider
	opts     Options
	now      func() time.Time
	log      *slog.Logger

	cache   sync.Map // connection ID → *entry
	epoch   atomic.Int64
	flights singleflight.Group
	loads   singleflight.Group
	life    context.Context // ends with Close: flights outlive callers, not the service
	stop    context.CancelFunc
	stats   counters
}

// New returns a Service. Run its background loop with Run.
func New(st *store.Store, provider oauth.Provider, opts Options) *Service {
	opts.defaults()
	life, stop := context.WithCancel(context.Background())
	return &Service{st: st, provider: provider, opts: opts, now: opts.Now, log: opts.Logger, life: life, stop: stop}
}

// Close cancels refreshes in flight; call it after the HTTP server drained.
func (s *Service) Close() { s.stop() }

// Request is what a caller needs of a token.
type Request struct {
	MinTTL       time.Duration // the token must be valid this much longer
	ForceRefresh bool          // a new token from Microsoft, not a cached one
	ProjectIDs   []string      // nil: any project; otherwise the connection must be in one
	// Wait bounds how long this caller waits for a refresh (0: its context
	// alone). The warm path never waits, so it costs nothing there.
	Wait time.Duration
}

// Token is an access token with the connection it is for.
type Token struct {
	AccessToken string
	ExpiresAt   time.Time
	Scope       string // granted, space separated
	Conn        *ConnInfo
	Refreshed   bool // obtained from Microsoft for this request; false: from a cache
}

// Token returns an access token valid for at least r.MinTTL, or an *Error.
// A connection of another tenant or outside r.ProjectIDs is CodeNotFound,
// exactly like a missing one. The warm path reads memory only.
func (s *Service) Token(ctx context.Context, tenantID, connID string, r Request) (Token, error) {
	now := s.now()
	if v, ok := s.cache.Load(connID); ok {
		e := v.(*entry)
		if err := check(e, tenantID, r); err != nil {
			return Token{}, err
		}
		if !r.ForceRefresh && e.satisfies(now, r.MinTTL) {
			e.lastUsed.Store(now.UnixNano())
			if e.expiresAt.Sub(now) < s.opts.RefreshAhead && !now.Before(e.notBefore) {
				s.refreshAhead(e)
			}
			return e.token(false), nil
		}
	}
	return s.slow(ctx, tenantID, connID, r, now)
}

// check is what every path asks of an entry before serving from it: the
// caller's tenant and projects, then the connection's status.
func check(e *entry, tenantID string, r Request) error {
	if e.info.TenantID != tenantID || r.ProjectIDs != nil && !slices.Contains(r.ProjectIDs, e.info.ProjectID) {
		return errNotFound
	}
	if e.err != nil {
		return e.err
	}
	return nil
}

// Invalidate drops a connection from this replica's memory, e.g. when an
// admin disables, deletes or reconnects it here. Other replicas notice the
// change within PollInterval.
func (s *Service) Invalidate(connID string) {
	s.epoch.Add(1)
	s.cache.Delete(connID)
}

// Stats are counters since start, for metrics and the benchmark.
type Stats struct {
	Loads     int64 // connections read from Postgres on the token path
	Flights   int64 // refreshes run (each at most one upstream request per attempt)
	Upstream  int64 // token requests sent to Microsoft
	Refreshed int64 // new tokens stored
}

type counters struct{ loads, flights, upstream, refreshed atomic.Int64 }

// Stats returns the counters.
func (s *Service) Stats() Stats {
	return Stats{Loads: s.stats.loads.Load(), Flights: s.stats.flights.Load(),
		Upstream: s.stats.upstream.Load(), Refreshed: s.stats.refreshed.Load()}
}
