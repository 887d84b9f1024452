package tokens

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/brokerhq/broker/internal/store"
)

// KeepAliveOptions tune the keep-alive worker; zero values take the defaults.
type KeepAliveOptions struct {
	Interval time.Duration // between scans (default 30s)
	// Concurrency is how many connections one replica refreshes at once,
	// and the claim's batch (default and at most half of MaxRefreshes,
	// BROKER_REFRESH_MAX_IN_FLIGHT, so callers' refreshes keep the rest).
	// Throughput ≈ Concurrency / (Microsoft's latency + the refresh's own
	// transaction): 64 at 50 ms + ~50 ms of database time ≈ 600/s.
	Concurrency int
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
	// At most half the slots to Microsoft: callers' refreshes need the rest.
	if opts.Concurrency <= 0 || opts.Concurrency > s.opts.MaxRefreshes/2 {
		opts.Concurrency = s.opts.MaxRefreshes / 2
	}
	opts.Concurrency = max(opts.Concurrency, 1)
	if opts.Store == nil {
		opts.Store = s.st
	}
	return &KeepAlive{s: s, opts: opts}
}

// Concurrency is how many connections it refreshes at once (and claims per batch).
func (k *KeepAlive) Concurrency() int { return k.opts.Concurrency }

// Run scans every Interval until ctx ends.
func (k *KeepAlive) Run(ctx context.Context) error {
	t := time.NewTicker(k.opts.Interval)
	defer t.Stop()
	for {
		n, err := k.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			k.s.log.Warn("tokens: keep-alive scan failed", "err", err)
		}
		if n >= maxPerScan && err == nil {
			continue // more are due: no pause
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce takes the connections due at its start until none is left and
// reports how many it handled. A producer claims them in batches (one
// statement claims and leases up to Concurrency rows) while Concurrency
// workers refresh them, so claims cost a fraction of a query per refresh
// and refreshes overlap Microsoft's latency. Each row is taken at most once
// per scan: whatever a scan writes to a row (a new token, a back-off after
// a failure, even a Retry-After of a second) moves its next_refresh_at past
// the scan's start, and the few it gives back unchanged (no slot to
// Microsoft) are skipped by ID, so a failing row waits for the next scan
// rather than being retried in a tight loop.
func (k *KeepAlive) RunOnce(ctx context.Context) (int, error) {
	s := k.s
	work := make(chan store.Claim, k.opts.Concurrency)
	var (
		mu      sync.Mutex
		skipped []string // given back unchanged: not again in this scan
	)
	var wg sync.WaitGroup
	for range k.opts.Concurrency {
		wg.Go(func() {
			for claim := range work {
				if !k.refresh(ctx, claim) {
					mu.Lock()
					skipped = append(skipped, claim.Conn.ID)
					mu.Unlock()
				}
			}
		})
	}
	start := s.now()
	done := map[string]bool{}
	var err error
	for ctx.Err() == nil && len(done) < maxPerScan {
		mu.Lock()
		skip := slices.Clone(skipped)
		mu.Unlock()
		policy := store.DuePolicy{Now: start, UsedWithin: k.opts.UsedWithin, ExpiresWithin: k.opts.ExpiresWithin,
			IdleAfter: k.opts.IdleAfter, SecretWarning: SecretWarning, Skip: skip}
		var claims []store.Claim
		claims, err = k.opts.Store.ClaimDueConnections(ctx, policy, min(k.opts.Concurrency, maxPerScan-len(done)),
			store.Lease{Length: s.opts.Lease}, k.decide(start))
		if err != nil || len(claims) == 0 {
			break
		}
		for _, c := range claims {
			switch {
			case done[c.Conn.ID] && c.Held:
				// Back within the scan (a token shorter-lived than
				// ExpiresWithin): give it back for the next scan.
				k.release(ctx, c)
				mu.Lock()
				skipped = append(skipped, c.Conn.ID)
				mu.Unlock()
			case !c.Held:
				// Its write is made: this replica's memory learns it at
				// once, the others when their poll sees the new version.
				s.Invalidate(c.Conn.ID)
			default:
				work <- c
			}
			done[c.Conn.ID] = true
		}
	}
	close(work)
	wg.Wait()
	return len(done), err
}

// maxPerScan bounds one scan (and its memory of what it handled); a scan
// that reaches it is followed by the next at once, not after Interval.
const maxPerScan = 10000

// decide is the claim's callback: refresh (take the lease) when the token
// is due, else flag an expiring client secret, else look again later.
func (k *KeepAlive) decide(now time.Time) store.DueFunc {
	s := k.s
	return func(row store.Connection, _ store.Credentials, st store.RefreshState) (*store.TokenWrite, bool, error) {
		if k.tokenDue(&row, now) && statusError(&row) == nil {
			return nil, true, nil // leased: refreshed by a worker, after this transaction
		}
		if ev := s.secretWarning(&row, now); ev != nil {
			return &store.TokenWrite{Update: &store.ConnectionUpdate{Status: ev}}, false, nil
		}
		// Nothing to write, yet the row was due by its next_refresh_at.
		// Usually it was in use when written and nobody used it since its
		// in-use window closed (the keep-alive was late): a not-before at
		// the window's end, already past, tells the trigger the window is
		// gone without holding callers off. Else look again after a while.
		nb := now.Add(k.opts.Interval)
		if c := row.LastUsedAt; c != nil && now.Sub(*c) > k.opts.UsedWithin {
			nb = c.Add(k.opts.UsedWithin + time.Second)
		}
		return &store.TokenWrite{NotBefore: &nb}, false, nil
	}
}

// refresh runs one leased claim's refresh, as the token endpoint's flight
// would, once a slot to Microsoft is free. The keep-alive waits for a slot
// rather than taking the ones callers need: it runs at most half of them.
// It reports false when it gave the lease back unchanged.
func (k *KeepAlive) refresh(ctx context.Context, claim store.Claim) bool {
	s := k.s
	if !k.waitSlot(ctx) {
		// No slot within a while: give the lease back, unchanged.
		k.release(ctx, claim)
		return false
	}
	s.stats.flights.Add(1)
	res := s.attempt(ctx, &claim, claim.Holder, plan{force: true, stale: claim.Creds.AccessToken}) // frees the slot
	if res.err != nil {
		s.log.Info("tokens: keep-alive refresh failed", "connection", claim.Conn.ID, "code", res.err.Code, "aadsts", res.err.AADSTS)
	}
	s.Invalidate(claim.Conn.ID)
	return true
}

// release gives a claim's lease back, writing nothing else.
func (k *KeepAlive) release(ctx context.Context, claim store.Claim) {
	if _, err := k.s.st.FinishRefresh(context.WithoutCancel(ctx), claim.Conn.TenantID, claim.Conn.ID, claim.Holder,
		store.TokenWrite{}); err != nil {
		k.s.log.Info("tokens: keep-alive could not release a lease", "connection", claim.Conn.ID, "err", err)
	}
}

// waitSlot takes a slot for a request to Microsoft, waiting up to a third
// of the lease for one.
func (k *KeepAlive) waitSlot(ctx context.Context) bool {
	deadline := time.Now().Add(k.s.opts.Lease / 3)
	for {
		if k.s.takeSlot() {
			return true
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
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
