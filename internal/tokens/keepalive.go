package tokens

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/brokerhq/broker/internal/store"
)

// KeepAliveOptions tune the keep-alive worker; zero values take the defaults.
type KeepAliveOptions struct {
	Interval    time.Duration // between scans (default 30s)
	Concurrency int           // connections refreshed at once per replica (default 2)
	// UsedWithin is "in active use" (default 1h); those get their token
	// refreshed when it expires within ExpiresWithin (default 10m).
	UsedWithin, ExpiresWithin time.Duration
	// IdleAfter: an authorization-code connection not refreshed for this
	// long is refreshed anyway (default 14 days), far inside Microsoft's 90
	// days of inactivity after which its refresh token dies (AADSTS700082).
	IdleAfter time.Duration
	// Store runs the scans (default the service's): a small pool of its
	// own keeps background work from taking the request path's connections.
	Store *store.Store
}

// KeepAlive refreshes tokens before callers need them and keeps idle
// grants alive. Every replica runs one; Postgres hands each due connection
// to one of them (FOR UPDATE SKIP LOCKED, leased rows skipped), and the
// refresh itself is the token endpoint's flight, under the same lease.
type KeepAlive struct {
	s    *Service
	opts KeepAliveOptions
}

// KeepAlive returns the service's keep-alive worker.
func (s *Service) KeepAlive(opts KeepAliveOptions) *KeepAlive {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.Interval, 30*time.Second)
	def(&opts.UsedWithin, time.Hour)
	def(&opts.ExpiresWithin, 10*time.Minute)
	def(&opts.IdleAfter, 14*24*time.Hour)
	if opts.Concurrency <= 0 {
		opts.Concurrency = 2
	}
	if opts.Store == nil {
		opts.Store = s.st
	}
	return &KeepAlive{s: s, opts: opts}
}

// Run scans every Interval until ctx ends.
func (k *KeepAlive) Run(ctx context.Context) error {
	t := time.NewTicker(k.opts.Interval)
	defer t.Stop()
	for {
		if _, err := k.RunOnce(ctx); err != nil && ctx.Err() == nil {
			k.s.log.Warn("tokens: keep-alive scan failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce takes due connections until none is left and reports how many it
// handled. Each is taken at most once per scan: one whose refresh failed
// transiently (its Retry-After may be a second) waits for the next scan
// rather than being retried in a tight loop.
func (k *KeepAlive) RunOnce(ctx context.Context) (int, error) {
	var (
		mu    sync.Mutex
		done  []string
		first error
		wg    sync.WaitGroup
	)
	for range k.opts.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				mu.Lock()
				skip := slices.Clone(done)
				mu.Unlock()
				id, err := k.one(ctx, skip)
				mu.Lock()
				if id != "" {
					done = append(done, id)
				}
				if err != nil && first == nil {
					first = err
				}
				stop := id == "" || err != nil || len(done) >= maxPerScan
				mu.Unlock()
				if stop {
					return
				}
			}
		})
	}
	wg.Wait()
	return len(done), first
}

// maxPerScan bounds one scan; the rest waits for the next.
const maxPerScan = 1000

// one claims one due connection and refreshes it (or flags its secret). It
// returns the connection's ID, or "" when none was due.
func (k *KeepAlive) one(ctx context.Context, skip []string) (string, error) {
	s := k.s
	now := s.now()
	policy := store.DuePolicy{Now: now, UsedWithin: k.opts.UsedWithin, ExpiresWithin: k.opts.ExpiresWithin,
		IdleAfter: k.opts.IdleAfter, SecretWarning: SecretWarning, Skip: skip}
	if !s.takeSlot() {
		return "", nil // this replica refreshes as much as it allows: the next scan
	}
	holder := uuid.NewString()
	claim, found, err := k.opts.Store.ClaimDueConnection(ctx, policy, store.Lease{Holder: holder, Length: s.opts.Lease},
		func(row store.Connection, _ store.Credentials, st store.RefreshState) (*store.TokenWrite, bool, error) {
			if k.tokenDue(&row, now) && statusError(&row) == nil {
				return nil, true, nil // leased: refreshed below, after this transaction
			}
			if ev := s.secretWarning(&row, now); ev != nil {
				return &store.TokenWrite{Update: &store.ConnectionUpdate{Status: ev}}, false, nil
			}
			// Nothing to write, yet the row was due: look again after a while.
			nb := now.Add(k.opts.Interval)
			return &store.TokenWrite{NotBefore: &nb}, false, nil
		})
	if !claim.Held {
		s.freeSlot()
	}
	if err != nil || !found {
		return "", err
	}
	if claim.Held {
		s.stats.flights.Add(1)
		res := s.attempt(ctx, &claim, holder, plan{force: true, stale: claim.Creds.AccessToken}) // frees the slot
		if res.err != nil {
			s.log.Info("tokens: keep-alive refresh failed", "connection", claim.Conn.ID, "code", res.err.Code, "aadsts", res.err.AADSTS)
		}
	}
	// This replica's memory learns the new token (or status) at once; the
	// others when their poll sees the new version.
	s.Invalidate(claim.Conn.ID)
	return claim.Conn.ID, nil
}

// tokenDue is the token half of the claim's condition (the other half is
// the secret warning): in use and expiring soon, or an idle grant.
func (k *KeepAlive) tokenDue(c *store.Connection, now time.Time) bool {
	inUse := c.LastUsedAt != nil && now.Sub(*c.LastUsedAt) <= k.opts.UsedWithin
	if inUse && c.AccessTokenExpiresAt != nil && c.AccessTokenExpiresAt.Sub(now) < k.opts.ExpiresWithin {
		return true
	}
	last := c.CreatedAt
	if c.LastRefreshAt != nil {
		last = *c.LastRefreshAt
	}
	return c.AuthType == "authorization_code" && c.HasRefreshToken && now.Sub(last) > k.opts.IdleAfter
}
