package apikeys

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/brokerhq/broker/internal/store"
)

// ErrInvalid is every reason a key is refused (malformed, unknown, wrong
// secret, revoked): callers learn no more than that.
var ErrInvalid = errors.New("apikeys: invalid API key")

// Key is a verified key as the API uses it. It never holds the secret.
type Key struct {
	ID         string
	TenantID   string
	Name       string
	Prefix     string
	ProjectIDs []string // nil: every project of the tenant
	Scope      string   // ScopeToken | ScopeAdmin

	hash     [32]byte
	lastUsed atomic.Int64 // unix nanos; flushed in batches by Run
	flushed  atomic.Int64 // lastUsed as of the last flush
	limit    limiter
}

// AllowsProject reports whether the key may use a connection of the project.
func (k *Key) AllowsProject(projectID string) bool {
	return k.ProjectIDs == nil || slices.Contains(k.ProjectIDs, projectID)
}

// Allow takes one request from the key's rate limit, or says how long to
// wait for the next free slot.
func (k *Key) Allow(now time.Time) (bool, time.Duration) { return k.limit.allow(now.UnixNano()) }

// Options tune a Verifier; zero values take the defaults.
type Options struct {
	Now             func() time.Time
	Logger          *slog.Logger
	RevocationPoll  time.Duration // default 2s: how soon a revocation elsewhere takes effect here
	TouchInterval   time.Duration // default 30s: how often last_used_at is written
	RecheckInterval time.Duration // default 5m: cached keys re-read in full (deleted tenants)
	// Rate is the default limit of a key without its own, in requests per
	// second (BROKER_API_KEY_RATE; 0 = unlimited); Burst how many requests
	// a key may send at once above it (BROKER_API_KEY_BURST).
	Rate  float64
	Burst int
}

// Defaults of BROKER_API_KEY_RATE and BROKER_API_KEY_BURST: well above what
// one service asks of one replica, low enough that a runaway loop with one
// key cannot take the replica from everyone else.
const (
	DefaultRate  = 2000
	DefaultBurst = 200
)

// Verifier checks keys, caching verified ones in memory.
type Verifier struct {
	st   *store.Store
	opts Options

	keys     sync.Map // prefix → *Key
	refused  sync.Map // prefix → unix nanos until which it is refused without a lookup
	nRefused atomic.Int64
	revoked  sync.Map // key ID → struct{}: revoked while a lookup may be in flight
	lookups  singleflight.Group
	nLookups atomic.Int64
}

// NewVerifier returns a Verifier; call Run to keep its cache current.
func NewVerifier(st *store.Store, opts Options) *Verifier {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.RevocationPoll = or(opts.RevocationPoll, 2*time.Second)
	opts.TouchInterval = or(opts.TouchInterval, 30*time.Second)
	opts.RecheckInterval = or(opts.RecheckInterval, 5*time.Minute)
	return &Verifier{st: st, opts: opts}
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// refusedFor is how long an unknown prefix is refused without asking the
// database again, so garbage keys cannot turn into a query each.
const refusedFor = 30 * time.Second

// Verify returns the key raw names if its secret matches and it is not
// revoked. A cached key is checked in memory, with no database query.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Key, error) {
	prefix, hash, ok := parse(raw)
	if !ok {
		return nil, ErrInvalid
	}
	now := v.opts.Now()
	k, err := v.lookup(ctx, prefix, now)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(k.hash[:], hash[:]) != 1 {
		return nil, ErrInvalid
	}
	k.lastUsed.Store(now.UnixNano())
	return k, nil
}

func (v *Verifier) lookup(ctx context.Context, prefix string, now time.Time) (*Key, error) {
	if k, ok := v.keys.Load(prefix); ok {
		return k.(*Key), nil
	}
	if until, ok := v.refused.Load(prefix); ok && now.UnixNano() < until.(int64) {
		return nil, ErrInvalid
	}
	// Many callers presenting a key this replica has not seen yet share one query.
	res, err, _ := v.lookups.Do(prefix, func() (any, error) {
		v.nLookups.Add(1)
		// Detached from the first caller, who may leave, but bounded.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		row, err := v.st.APIKeyByPrefix(lctx, prefix)
		if errors.Is(err, store.ErrNotFound) || err == nil && row.RevokedAt != nil {
			v.refuse(prefix, now.Add(refusedFor))
			return nil, ErrInvalid
		}
		if err != nil {
			return nil, err
		}
		k := &Key{ID: row.ID, TenantID: row.TenantID, Name: row.Name, Prefix: row.Prefix, ProjectIDs: row.ProjectIDs,
			Scope: row.Scope, limit: v.limiterFor(row)}
		copy(k.hash[:], row.SecretHash)
		if row.LastUsedAt != nil {
			k.flushed.Store(row.LastUsedAt.UnixNano())
		}
		v.keys.Store(k.Prefix, k) // the row's copy: prefix points into the caller's key, secret and all
		// A revocation polled while the query ran would otherwise be lost.
		if _, gone := v.revoked.Load(k.ID); gone {
			v.keys.Delete(k.Prefix)
			return nil, ErrInvalid
		}
		return k, nil
	})
	if err != nil {
		return nil, err
	}
	return res.(*Key), nil
}

// limiterFor is the key's own limit where it has one, else the default.
// A key with its own rate but no burst gets the default's burst, scaled to
// stay the same fraction of a second of its rate.
func (v *Verifier) limiterFor(row store.APIKey) limiter {
	rate, burst := v.opts.Rate, v.opts.Burst
	if row.Rate != nil {
		rate = *row.Rate
		if row.Burst == nil && v.opts.Rate > 0 {
			burst = int(float64(v.opts.Burst) * rate / v.opts.Rate)
		}
	}
	if row.Burst != nil {
		burst = *row.Burst
	}
	return newLimiter(rate, burst)
}

// refuse remembers a prefix to refuse without a query. The set is bounded:
// past 100,000 entries it starts over rather than grow without end.
func (v *Verifier) refuse(prefix string, until time.Time) {
	if v.nRefused.Add(1) > 100_000 {
		v.refused.Clear()
		v.nRefused.Store(0)
	}
	v.refused.Store(strings.Clone(prefix), until.UnixNano()) // not a slice of the presented key
}

// Drop removes a revoked key from this replica's cache at once; other
// replicas learn of it from their revocation poll.
func (v *Verifier) Drop(id string) {
	v.revoked.Store(id, struct{}{})
	v.keys.Range(func(p, k any) bool {
		if k.(*Key).ID == id {
			v.keys.Delete(p)
			v.refuse(p.(string), v.opts.Now().Add(time.Hour))
		}
		return true
	})
}

// Lookups counts database lookups since start: the benchmark shows it stays
// flat while warm requests are served.
func (v *Verifier) Lookups() int64 { return v.nLookups.Load() }
