// Package tokens hands out fresh access tokens for connections: from memory
// when it can (no database query, no call to Microsoft), from Postgres when
// another replica has a good one, and otherwise by one refresh at Microsoft
// per connection, however many callers and replicas ask at once.
//
// # One refresh across replicas, without holding the database
//
// Callers in a process share one flight (singleflight). Across processes a
// refresh is claimed by a lease on the connection's row, not by a lock held
// while Microsoft answers:
//
//  1. Claim: one short transaction locks the row, re-reads it, and, if a
//     refresh is still needed, no live lease stands and the back-off window
//     (refresh_not_before) has passed, writes a lease: a holder ID unique to
//     this claim and an expiry by the database's clock. Commit.
//  2. Call: one request to Microsoft, with no database connection held, with
//     a deadline of AttemptTimeout; the lease is AttemptTimeout×3/2 + 1s, so
//     the deadline ends well inside it.
//  3. Finish: one short transaction writes the outcome only if the row still
//     names this holder (fencing), and clears the lease. A new refresh token
//     replaces the old in the same UPDATE as its access token: the row always
//     holds a refresh token Microsoft accepts.
//
// Waiters (other replicas' flights) re-run the claim with a short poll that
// backs off (25 ms doubling to 400 ms, never past the lease's end): a
// flight per replica per connection polls, so a refresh costs a few short
// queries per replica. LISTEN/NOTIFY would answer a few milliseconds sooner
// but needs a dedicated connection per replica and its own reconnect path
// through database restarts; the poll needs neither (see docs/benchmarks.md
// for what it costs in a storm).
//
// Why it is correct when the holder dies or freezes at each step:
//   - Before or during the claim: the transaction rolls back; nothing is
//     leased; a waiter claims on its next poll.
//   - After the claim, before or during the call: the lease runs out by the
//     database's clock (bounded: AttemptTimeout×3/2 + 1s), and the next
//     claim is another replica's. A frozen holder that wakes after that
//     finds its attempt deadline passed (Go's HTTP client then sends
//     nothing), and its finish is refused: the row names another holder.
//   - After Microsoft answered, before the finish committed: the token is
//     lost with the holder; the stored refresh token is the old one. The
//     next claim refreshes with it. Microsoft keeps an old refresh token
//     valid after issuing a new one, so this costs one extra refresh. This
//     is the residual risk: against an identity platform that revokes the
//     whole chain when a used refresh token is presented again, a holder
//     that froze between Microsoft's answer and its finish for longer than
//     the lease gets the grant revoked. No protocol on our side can close
//     it (Microsoft has no idempotency key); the lease being longer than the
//     attempt deadline closes every case but a freeze in that window.
//   - During the finish: the transaction commits or it does not; a finish
//     that fails on a database error is retried while the lease stands, and
//     if it never succeeds the minted token is served from memory once.
//
// Back-off is recorded, never slept under a claim: a transient failure
// writes refresh_not_before = (time the failure was seen) + window (the
// Retry-After, or exponential back-off on refresh_failures) and releases the
// lease in the same transaction, so across replicas Microsoft sees at most
// one request per window per connection. Callers are told the real
// remaining wait.
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
	// RefreshTimeout bounds one flight, waits for other holders and
	// retries included (default 20s). A caller's own deadline bounds its
	// wait for it.
	RefreshTimeout time.Duration
	// AttemptTimeout bounds one request to Microsoft (default 10s).
	AttemptTimeout time.Duration
	// Lease is how long a claim on a refresh stands (default
	// AttemptTimeout×3/2 + 1s): a holder that dies or freezes loses it then.
	Lease time.Duration
	// MaxAttempts bounds the requests to Microsoft one flight makes (4).
	// BackoffBase and BackoffMax shape the back-off window recorded after a
	// transient failure without Retry-After: exponential in the failures in
	// a row, capped, with equal jitter (200ms, 5s). A flight waits out a
	// window of up to a second and tries again; a longer one is answered at
	// once with its Retry-After.
	MaxAttempts             int
	BackoffBase, BackoffMax time.Duration
	// MaxRefreshes bounds the requests to Microsoft in flight from this
	// replica (default 16); past it callers get upstream_unavailable with
	// Retry-After at once.
	MaxRefreshes int
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
	// CacheMax bounds the connections kept in memory (default 200,000;
	// BROKER_TOKEN_CACHE_MAX): each poll drops the least recently used
	// past it, so memory stays bounded whatever the database holds.
	CacheMax int
	// TouchInterval is how often last use is written (default 1m).
	TouchInterval time.Duration
	// Apps gives the client of a tenant's own app registration for the
	// connections made with one (internal/tenantapps); nil: every
	// connection refreshes with the broker's app.
	Apps Apps
}

// Apps picks the identity-platform client of a tenant's app registration.
type Apps interface {
	Provider(ctx context.Context, tenantID, appID string) (oauth.Provider, error)
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
	def(&o.AttemptTimeout, 10*time.Second)
	def(&o.Lease, o.AttemptTimeout*3/2+time.Second)
	def(&o.BackoffBase, 200*time.Millisecond)
	def(&o.BackoffMax, 5*time.Second)
	def(&o.RefreshAhead, 10*time.Minute)
	def(&o.ForceCooldown, 10*time.Second)
	def(&o.PollInterval, time.Second)
	if o.CacheMax <= 0 {
		o.CacheMax = DefaultCacheMax
	}
	def(&o.TouchInterval, time.Minute)
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 4
	}
	if o.MaxRefreshes <= 0 {
		o.MaxRefreshes = 16
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
	slots   chan struct{} // one per request to Microsoft in flight (MaxRefreshes)
	// missingKeys: encryption key IDs met but not held, each logged once.
	missingKeys sync.Map
	feedMu      sync.Mutex // the change poll's position (poll.go)
	feed        changeFeed
}

// New returns a Service. Run its background loop with Run.
func New(st *store.Store, provider oauth.Provider, opts Options) *Service {
	opts.defaults()
	life, stop := context.WithCancel(context.Background())
	return &Service{st: st, provider: provider, opts: opts, now: opts.Now, log: opts.Logger, life: life, stop: stop,
		slots: make(chan struct{}, opts.MaxRefreshes)}
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

// DefaultCacheMax is CacheMax's default: about 200 MB at most (an entry
// costs well under 1 KiB; docs/benchmarks.md).
const DefaultCacheMax = 200_000

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
	Claims    int64 // claim transactions (a flight's first, its polls for another holder, its retries)
	Shed      int64 // flights answered at once because MaxRefreshes were in flight
	Evicted   int64 // entries dropped to keep the cache under CacheMax
}

type counters struct{ loads, flights, upstream, refreshed, claims, shed, evicted atomic.Int64 }

// Stats returns the counters.
func (s *Service) Stats() Stats {
	return Stats{Loads: s.stats.loads.Load(), Flights: s.stats.flights.Load(),
		Upstream: s.stats.upstream.Load(), Refreshed: s.stats.refreshed.Load(),
		Claims: s.stats.claims.Load(), Shed: s.stats.shed.Load(), Evicted: s.stats.evicted.Load()}
}
