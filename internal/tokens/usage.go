package tokens

import (
	"context"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brokerhq/broker/internal/store"
)

// Usage records every token handed to a caller (which key, which
// connection, when, cached or refreshed) as counters per hour, key and
// connection, flushed to Postgres every few seconds. Recording is a map
// lookup under a read lock and an atomic add: a fraction of a microsecond,
// and never a query on the request's path.
type Usage struct {
	st       *store.Store
	now      func() time.Time
	log      *slog.Logger
	interval time.Duration
	seed     maphash.Seed
	shards   [16]usageShard
	flushMu  sync.Mutex // one flush at a time: it owns the done* fields
}

type usageShard struct {
	mu sync.RWMutex
	m  map[usageKey]*usageCount
}

type usageKey struct {
	hour          int64 // unix seconds of the hour
	keyID, connID string
}

type usageCount struct {
	tenantID          string
	cached, refreshed atomic.Int64
	first, last       atomic.Int64 // unix nanos
	// What the last successful flush wrote; only the flusher touches these.
	doneCached, doneRefreshed int64
}

// NewUsage returns a recorder flushing every interval (default 5s) when Run.
func NewUsage(st *store.Store, now func() time.Time, logger *slog.Logger, interval time.Duration) *Usage {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.Default()
	}
	if interval <= 0 {
		interval = 5 * time.Second
	}
	u := &Usage{st: st, now: now, log: logger, interval: interval, seed: maphash.MakeSeed()}
	for i := range u.shards {
		u.shards[i].m = map[usageKey]*usageCount{}
	}
	return u
}

// Record counts one token handed to keyID for connID at the given time.
func (u *Usage) Record(tenantID, keyID, connID string, refreshed bool, at time.Time) {
	k := usageKey{hour: at.Unix() / 3600 * 3600, keyID: keyID, connID: connID}
	sh := &u.shards[maphash.String(u.seed, connID)%uint64(len(u.shards))]
	sh.mu.RLock()
	c := sh.m[k]
	sh.mu.RUnlock()
	if c == nil {
		sh.mu.Lock()
		if c = sh.m[k]; c == nil {
			c = &usageCount{tenantID: tenantID}
			c.first.Store(at.UnixNano())
			sh.m[k] = c
		}
		sh.mu.Unlock()
	}
	if refreshed {
		c.refreshed.Add(1)
	} else {
		c.cached.Add(1)
	}
	if n := at.UnixNano(); n > c.last.Load() {
		c.last.Store(n)
	}
}

// Run flushes every interval until ctx ends, then once more.
func (u *Usage) Run(ctx context.Context) error {
	t := time.NewTicker(u.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			err := u.Flush(fctx)
			cancel()
			return err
		case <-t.C:
			if err := u.Flush(ctx); err != nil && ctx.Err() == nil {
				u.log.Warn("tokens: usage flush failed; counts kept for the next one", "err", err)
			}
		}
	}
}

// Flush writes the counts recorded since the last flush. On failure they
// stay in memory for the next one. Counters of hours that are over and fully
// written are dropped.
func (u *Usage) Flush(ctx context.Context) error {
	type pending struct {
		c                 *usageCount
		cached, refreshed int64
	}
	u.flushMu.Lock()
	defer u.flushMu.Unlock()
	var rows []store.TokenUsage
	var done []pending
	current := u.now().Unix() / 3600 * 3600
	for i := range u.shards {
		sh := &u.shards[i]
		sh.mu.Lock()
		for k, c := range sh.m {
			cached, refreshed := c.cached.Load(), c.refreshed.Load()
			if cached == c.doneCached && refreshed == c.doneRefreshed {
				if k.hour < current-3600 { // over, written, and no late recorder can still reach it
					delete(sh.m, k)
				}
				continue
			}
			rows = append(rows, store.TokenUsage{TenantID: c.tenantID, Hour: time.Unix(k.hour, 0).UTC(), APIKeyID: k.keyID,
				ConnectionID: k.connID, Cached: cached - c.doneCached, Refreshed: refreshed - c.doneRefreshed,
				FirstAt: time.Unix(0, c.first.Load()), LastAt: time.Unix(0, c.last.Load())})
			done = append(done, pending{c, cached, refreshed})
		}
		sh.mu.Unlock()
	}
	if err := u.st.AddTokenUsage(ctx, rows); err != nil {
		return err
	}
	for _, p := range done {
		p.c.doneCached, p.c.doneRefreshed = p.cached, p.refreshed
	}
	return nil
}
