package tokens

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
)

// slow is every request the warm path could not answer from memory.
func (s *Service) slow(ctx context.Context, tenantID, connID string, r Request, now time.Time) (Token, error) {
	if r.Wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Wait)
		defer cancel()
	}
	e, err := s.load(ctx, tenantID, connID)
	if err == nil {
		err = check(e, tenantID, r)
	}
	if err != nil {
		return Token{}, err
	}
	switch {
	case !r.ForceRefresh && e.satisfies(now, r.MinTTL):
		e.lastUsed.Store(now.UnixNano())
		return e.token(false), nil
	case r.ForceRefresh && now.Sub(e.mintedAt) < s.opts.ForceCooldown && e.satisfies(now, r.MinTTL):
		// Refreshed a moment ago (here or elsewhere): that token is as new as it gets.
		e.lastUsed.Store(now.UnixNano())
		return e.token(false), nil
	case now.Before(e.notBefore):
		return s.fallback(e, now, r, unavailable(nil, e.notBefore.Sub(now)))
	}
	// At most two flights: a caller that joined a flight started for a
	// smaller min_ttl, whose answer does not satisfy it, runs its own.
	for range 2 {
		res := s.flight(ctx, tenantID, connID, r, e.access)
		if res.err != nil {
			if passes(res.err) {
				return s.fallback(pick(res.e, e), now, r, res.err)
			}
			return Token{}, res.err
		}
		if res.fresh || res.e.satisfies(now, r.MinTTL) {
			res.e.lastUsed.Store(now.UnixNano())
			return res.e.token(res.fresh), nil
		}
		e = res.e
	}
	return Token{}, unavailable(nil, time.Second)
}

func pick(a, b *entry) *entry {
	if a != nil {
		return a
	}
	return b
}

// fallback serves a still-valid token that satisfies the caller's min_ttl
// when a refresh could not be done now (Microsoft throttling or failing, a
// forced or early refresh); otherwise it answers with the failure.
func (s *Service) fallback(e *entry, now time.Time, r Request, failure *Error) (Token, error) {
	if e != nil && e.err == nil && e.satisfies(now, r.MinTTL) {
		e.lastUsed.Store(now.UnixNano())
		return e.token(false), nil
	}
	return Token{}, failure
}

// flightResult is what one refresh hands to every caller waiting on it.
type flightResult struct {
	e     *entry // the connection as the refresh left it (nil if unknown)
	fresh bool   // e holds a token Microsoft issued in this flight
	err   *Error
}

// plan is the first caller's need, which the flight decides by.
type plan struct {
	minTTL time.Duration
	force  bool
	stale  string // the token a forced refresh replaces
}

// flight runs (or joins) the one refresh of this connection in this
// process. The refresh is not cancelled when a caller leaves, others may be
// waiting, but each caller waits no longer than its own context allows.
func (s *Service) flight(ctx context.Context, tenantID, connID string, r Request, stale string) flightResult {
	key := tenantID + "/" + connID
	if r.ForceRefresh {
		key += "/force"
	}
	ch := s.flights.DoChan(key, func() (any, error) {
		return s.refresh(tenantID, connID, plan{minTTL: r.MinTTL, force: r.ForceRefresh, stale: stale}), nil
	})
	select {
	case res := <-ch:
		return res.Val.(flightResult)
	case <-ctx.Done():
		// The flight goes on; tell the caller the wait it knows of.
		wait := time.Second
		if v, ok := s.cache.Load(connID); ok {
			wait = max(wait, v.(*entry).notBefore.Sub(s.now()))
		}
		return flightResult{err: unavailable(ctx.Err(), wait)}
	}
}

// refreshAhead starts one background refresh from an entry running low, so
// the callers after it still find a warm token. One per entry: the flight
// stores a new entry, and one carrying a Retry-After starts none before it.
func (s *Service) refreshAhead(e *entry) {
	if !e.ahead.CompareAndSwap(false, true) {
		return
	}
	go func() {
		res := s.flight(s.life, e.info.TenantID, e.info.ID, Request{MinTTL: s.opts.RefreshAhead}, e.access)
		if res.err != nil {
			s.log.Debug("tokens: refresh ahead failed", "connection", e.info.ID, "err", res.err)
		}
	}()
}

// inlineWait is the longest back-off window a flight waits out for its
// callers before trying again (a blip); a longer one is answered at once
// with its Retry-After, so callers are not held for a wait they can spend
// elsewhere.
const inlineWait = time.Second

// Waiters poll the claim while another replica holds the lease.
const (
	pollFirst = 25 * time.Millisecond
	pollMax   = 400 * time.Millisecond
)

// refresh is the body of a flight: claim, call, finish (see the package
// comment). It loops while another holder's lease stands (polling) and
// while a short back-off window passes (at most MaxAttempts requests).
func (s *Service) refresh(tenantID, connID string, p plan) flightResult {
	s.stats.flights.Add(1)
	ctx, cancel := context.WithTimeout(s.life, s.opts.RefreshTimeout)
	defer cancel()
	var have *entry
	poll := pollFirst
	for attempts := 0; ; {
		if !s.takeSlot() {
			s.stats.shed.Add(1)
			return flightResult{e: have, err: &Error{Code: CodeUnavailable, RetryAfter: time.Second,
				Detail: "The broker has as many token refreshes in flight as it allows; retry after the given delay."}}
		}
		holder := uuid.NewString()
		var d decision
		s.stats.claims.Add(1)
		claim, err := s.st.ClaimRefresh(ctx, tenantID, connID, store.Lease{Holder: holder, Length: s.opts.Lease},
			func(c store.Connection, cr store.Credentials, st store.RefreshState) bool {
				d = s.decide(&c, &cr, st, p)
				return d.refresh
			})
		if err != nil || !claim.Held {
			s.freeSlot()
		}
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				s.Invalidate(connID)
			}
			if ctx.Err() != nil && !errors.Is(err, store.ErrNotFound) {
				return flightResult{e: have, err: unavailable(err, time.Second)}
			}
			return flightResult{e: have, err: s.storeError("refresh the token", err)}
		}
		have = d.have
		now := s.now()
		switch {
		case claim.Held:
			attempts++
			res := s.attempt(ctx, &claim, holder, p) // frees the slot
			if res.err == nil || !passes(res.err) || attempts >= s.opts.MaxAttempts || ctx.Err() != nil || brokerApp(res.err) {
				return res
			}
			// A transient failure recorded its window: wait it out if short,
			// else answer now with Microsoft's details and the real wait.
			deadline, _ := ctx.Deadline()
			if wait := res.err.RetryAfter; wait > inlineWait || time.Until(deadline) < wait || !sleep(ctx, wait) {
				return res
			}
		case d.refresh: // another replica holds the lease: wait for its outcome
			wait := min(poll, claim.State.LeaseLeft+time.Millisecond)
			poll = min(2*poll, pollMax)
			if !sleep(ctx, wait) {
				return flightResult{e: have, err: unavailable(ctx.Err(), max(time.Second, claim.State.LeaseLeft))}
			}
			continue
		case d.err != nil && d.err.Code == CodeUnavailable: // inside a back-off window
			s.put(have)
			wait := have.notBefore.Sub(now)
			deadline, _ := ctx.Deadline()
			if attempts >= s.opts.MaxAttempts || wait > inlineWait || time.Until(deadline) < wait {
				return flightResult{e: have, err: d.err}
			}
			if !sleep(ctx, wait) {
				return flightResult{e: have, err: d.err}
			}
			continue
		case d.err != nil:
			s.put(have)
			return flightResult{err: d.err}
		default: // another replica refreshed meanwhile
			s.put(have)
			return flightResult{e: have}
		}
	}
}

// brokerApp reports whether e is the broker's own app registration failing
// (internal/apphealth): retrying before its Retry-After would only spin.
func brokerApp(e *Error) bool {
	var oe *oauth.Error
	return errors.As(e.Err, &oe) && oe.BrokerApp
}

func (s *Service) takeSlot() bool {
	select {
	case s.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s *Service) freeSlot() { <-s.slots }
