package tokens

import (
	"context"
	"errors"
	"time"

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
			if res.err.Code == CodeUnavailable {
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
		return flightResult{err: unavailable(ctx.Err(), time.Second)}
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

// outcome is what the decision under the lock found, beside what it writes.
type outcome struct {
	conn   store.Connection // as read under the lock
	have   *entry           // the token Postgres had
	minted *oauth.Token     // issued by Microsoft in this attempt
	err    *Error
}

// refresh is the body of a flight: take the row lock, re-read, refresh if
// still needed, store. If storing fails after Microsoft answered, it tries
// again from the top: the old refresh token still works at Microsoft, and
// another replica may have stored a token meanwhile.
func (s *Service) refresh(tenantID, connID string, p plan) flightResult {
	s.stats.flights.Add(1)
	ctx, cancel := context.WithTimeout(s.life, s.opts.RefreshTimeout)
	defer cancel()
	var o outcome
	var unstored *oauth.Token         // issued by Microsoft, then the write failed
	var unstoredConn store.Connection // the row it was issued for
	var err error
	for round := 1; ; round++ {
		o = outcome{}
		deadline, _ := ctx.Deadline()
		lock := store.RefreshLock{Wait: time.Until(deadline), Lease: s.opts.Lease}
		var c store.Connection
		c, err = s.st.RefreshConnection(ctx, tenantID, connID, lock,
			func(c store.Connection, cr store.Credentials, st store.TokenState) (*store.TokenWrite, error) {
				return s.decide(ctx, &c, &cr, st, p, &o)
			})
		if err == nil {
			return s.settle(&c, &o)
		}
		if errors.Is(err, store.ErrNotFound) {
			s.Invalidate(connID)
			return flightResult{err: errNotFound}
		}
		if o.minted != nil {
			unstored, unstoredConn = o.minted, o.conn
		}
		wait := s.backoff(round, 0)
		if round >= 3 || ctx.Err() != nil || time.Until(deadline) < wait {
			break
		}
		s.log.Warn("tokens: refresh could not be stored; trying again", "connection", connID, "round", round, "err", err)
		if !sleep(ctx, wait) {
			break
		}
	}
	if unstored != nil {
		// Postgres kept failing, but Microsoft answered: serve that token from
		// memory. The stored refresh token is still good for the next try.
		s.log.Error("tokens: serving a token that could not be stored", "connection", connID, "err", err)
		e := newEntry(&unstoredConn, unstored.AccessToken, unstored.ExpiresAt)
		s.put(e)
		return flightResult{e: e, fresh: true}
	}
	if errors.Is(err, store.ErrBusy) || ctx.Err() != nil {
		return flightResult{e: o.have, err: unavailable(err, time.Second)}
	}
	s.log.Error("tokens: refresh failed in the database", "connection", connID, "err", err)
	return flightResult{e: o.have, err: &Error{Code: CodeInternal, Detail: "The broker could not refresh the token.", Err: err}}
}

// settle turns a committed decision into the flight's result and memory.
func (s *Service) settle(c *store.Connection, o *outcome) flightResult {
	switch {
	case o.minted != nil:
		s.stats.refreshed.Add(1)
		e := newEntry(c, o.minted.AccessToken, o.minted.ExpiresAt)
		s.put(e)
		return flightResult{e: e, fresh: true}
	case o.err != nil && o.err.Code != CodeUnavailable:
		s.put(newEntry(c, "", time.Time{}))
		return flightResult{err: o.err}
	case o.err != nil:
		s.put(o.have)
		return flightResult{e: o.have, err: o.err}
	default:
		s.put(o.have)
		return flightResult{e: o.have}
	}
}
