package tokens

import (
	"context"
	"sync"
	"time"

	"github.com/brokerhq/broker/internal/store"
)

// KeepAliveOptions tune the keep-alive worker; zero values take the defaults.
type KeepAliveOptions struct {
	Interval    time.Duration // between scans (default 30s)
	Concurrency int           // connections refreshed at once per replica (default 16, at most half of MaxRefreshes)
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
		opts.Concurrency = 16
	}
	// At most half the slots to Microsoft: callers' refreshes need the rest.
	opts.Concurrency = max(min(opts.Concurrency, s.opts.MaxRefreshes/2), 1)
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
// handled. A producer claims them in batches (one query for up to
// Concurrency rows) while Concurrency workers refresh them, so claims cost
// a fraction of a query per refresh and refreshes overlap Microsoft's
// latency. Each row is taken at most once per scan: one whose refresh
// failed transiently (its Retry-After may be a second) waits for the next
// scan rather than being retried in a tight loop.
func (k *KeepAlive) RunOnce(ctx context.Context) (int, error) {
	s := k.s
	work := make(chan store.Claim, k.opts.Concurrency)
	var wg sync.WaitGroup
	for range k.opts.Concurrency {
		wg.Go(func() {
			for claim := range work {
				k.refresh(ctx, claim)
			}
		})
	}
	var done []string
	var err error
	for ctx.Err() == nil && len(done) < maxPerScan {
		now := s.now()
		policy := store.DuePolicy{Now: now, UsedWithin: k.opts.UsedWithin, ExpiresWithin: k.opts.ExpiresWithin,
			IdleAfter: k.opts.IdleAfter, SecretWarning: SecretWarning, Skip: done}
		var claims []store.Claim
		claims, err = k.opts.Store.ClaimDueConnections(ctx, policy, min(k.opts.Concurrency, maxPerScan-len(done)),
			store.Lease{Length: s.opts.Lease}, k.decide(now))
		if err != nil || len(claims) == 0 {
			break
		}
		for _, c := range claims {
			done = append(done, c.Conn.ID)
			if !c.Held {
				// Its write is made: this replica's memory learns it at
				// once, the others when their poll sees the new version.
				s.Invalidate(c.Conn.ID)
				continue
			}
			work <- c
		}
	}
	close(work)
	wg.Wait()
	return len(done), err
}

// maxPerScan bounds one scan; the rest waits for the next.
const maxPerScan = 5000

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
		// Nothing to write, yet the row was due: look again after a while.
		nb := now.Add(k.opts.Interval)
		return &store.TokenWrite{NotBefore: &nb}, false, nil
	}
}

// refresh runs one leased claim's refresh, as the token endpoint's flight
// would, once a slot to Microsoft is free. The keep-alive waits for a slot
// rather than taking the ones callers need: it runs at most half of them.
func (k *KeepAlive) refresh(ctx context.Context, claim store.Claim) {
	s := k.s
	if !k.waitSlot(ctx) {
		// No slot within a while: give the lease back, unchanged.
		if _, err := s.st.FinishRefresh(context.WithoutCancel(ctx), claim.Conn.TenantID, claim.Conn.ID, claim.Holder,
			store.TokenWrite{}); err != nil {
			s.log.Info("tokens: keep-alive could not release a lease", "connection", claim.Conn.ID, "err", err)
		}
		return
	}
	s.stats.flights.Add(1)
	res := s.attempt(ctx, &claim, claim.Holder, plan{force: true, stale: claim.Creds.AccessToken}) // frees the slot
	if res.err != nil {
		s.log.Info("tokens: keep-alive refresh failed", "connection", claim.Conn.ID, "code", res.err.Code, "aadsts", res.err.AADSTS)
	}
	s.Invalidate(claim.Conn.ID)
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
