package tokens

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
)

// decide runs under the connection's row lock with what Postgres holds now.
// It uses a token another replica stored while this one waited, honours a
// recorded Retry-After, and otherwise asks Microsoft, retrying transient
// failures. It returns what to write; o carries the rest to settle.
func (s *Service) decide(ctx context.Context, c *store.Connection, cr *store.Credentials, st store.TokenState,
	p plan, o *outcome) (*store.TokenWrite, error) {
	now := s.now()
	o.conn = *c
	o.have = newEntry(c, cr.AccessToken, cr.AccessTokenExpiresAt)
	if o.have.err != nil {
		o.err = o.have.err
		return nil, nil
	}
	have := o.have
	switch {
	case !p.force && have.satisfies(now, p.minTTL):
		return nil, nil // another replica refreshed while this one waited
	case p.force && have.access != p.stale && have.satisfies(now, p.minTTL):
		return nil, nil // a forced refresh elsewhere already replaced the stale token
	case p.force && now.Sub(have.mintedAt) < s.opts.ForceCooldown && have.satisfies(now, p.minTTL):
		return nil, nil // refreshed a moment ago: as new as a token gets
	}
	if st.NotBefore != nil && now.Before(*st.NotBefore) {
		have.notBefore = *st.NotBefore
		o.err = unavailable(nil, st.NotBefore.Sub(now))
		return nil, nil
	}
	tok, err := s.callWithRetry(ctx, c, cr, st.Alive)
	if errors.Is(err, errLockLost) {
		return nil, err // rolled back; the flight starts over and re-reads
	}
	if err == nil {
		o.minted = tok
		u := store.ConnectionUpdate{AccessToken: &tok.AccessToken, AccessTokenExpiresAt: &tok.ExpiresAt,
			Status: s.secretWarning(c, now)}
		if tok.RefreshToken != "" { // none in the answer: keep the old one
			u.RefreshToken = &tok.RefreshToken
		}
		if len(tok.Scopes) > 0 {
			holds := tok.RefreshToken != "" || cr.RefreshToken != ""
			u.GrantedScopes = oauth.GrantedScopes(c.RequestedScopes, tok.Scopes, holds)
		}
		return &store.TokenWrite{Update: &u, NotBefore: &time.Time{}, RefreshedAt: &now}, nil
	}
	if ctx.Err() != nil {
		// The refresh ran out of time or the service is stopping: that says
		// nothing about Microsoft, so nothing is recorded.
		o.err = unavailable(err, time.Second)
		return nil, nil
	}
	var oe *oauth.Error
	if !errors.As(err, &oe) {
		oe = &oauth.Error{Network: true, Description: "request failed"}
	}
	switch class := oe.Class(); class {
	case oauth.ClassTransient, oauth.ClassClientBug:
		wait := max(oe.RetryAfter, time.Second)
		if class == oauth.ClassClientBug {
			wait = max(wait, time.Minute) // AADSTS50196: Microsoft saw a loop; stay away a while
		}
		nb := now.Add(wait)
		have.notBefore = nb
		o.err = unavailable(oe, wait)
		return &store.TokenWrite{NotBefore: &nb}, nil
	default:
		// Permanent: record why, and refresh no more until someone reconnects.
		ev, e := permanentError(oe, class)
		o.err = e
		s.log.Warn("tokens: Microsoft refused a refresh", "connection", c.ID, "code", oe.AADSTS(), "error", oe.Code,
			"trace_id", oe.TraceID, "status", ev.Status)
		return &store.TokenWrite{Update: &store.ConnectionUpdate{Status: &ev}}, nil
	}
}

// secretWarning flags a client secret close to its recorded expiry; the
// connection keeps serving tokens meanwhile.
func (s *Service) secretWarning(c *store.Connection, now time.Time) *store.StatusEvent {
	if c.Status != "active" || c.AuthType != "client_credentials" || c.ClientSecretExpiresAt == nil ||
		c.ClientSecretExpiresAt.Sub(now) > SecretWarning {
		return nil
	}
	return &store.StatusEvent{Status: "secret_expiring",
		Reason: "The client secret expires on " + c.ClientSecretExpiresAt.UTC().Format("2006-01-02") + "; add a new one before then."}
}

// SecretWarning is how long before a client secret's recorded expiry the
// connection is flagged secret_expiring.
const SecretWarning = 14 * 24 * time.Hour

// errLockLost: the row lock went away (session ended) between attempts.
var errLockLost = errors.New("tokens: the refresh lock was lost")

// callWithRetry asks Microsoft for a token, retrying transient failures
// with back-off inside ctx's deadline. Retry-After is honoured: when it
// reaches past the deadline, the failure is returned at once. Before each
// retry it checks that the lock still stands.
func (s *Service) callWithRetry(ctx context.Context, c *store.Connection, cr *store.Credentials,
	alive func(context.Context) error) (*oauth.Token, error) {
	for attempt := 1; ; attempt++ {
		if attempt > 1 && alive != nil {
			if err := alive(ctx); err != nil {
				return nil, fmt.Errorf("%w: %w", errLockLost, err)
			}
		}
		actx, cancel := context.WithTimeout(ctx, s.opts.AttemptTimeout)
		s.stats.upstream.Add(1)
		tok, err := s.call(actx, c, cr)
		cancel()
		if err == nil {
			return tok, nil
		}
		var oe *oauth.Error
		// BrokerApp (internal/apphealth): the broker's own app registration
		// is failing; the answer came without asking Microsoft, and retrying
		// before its Retry-After would only spin.
		if !errors.As(err, &oe) || oe.Class() != oauth.ClassTransient || oe.BrokerApp || attempt >= s.opts.MaxAttempts {
			return nil, err
		}
		wait := s.backoff(attempt, oe.RetryAfter)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return nil, err
		}
		if !sleep(ctx, wait) {
			return nil, err
		}
	}
}

// call makes one token request: a refresh for authorization-code
// connections, client credentials with the customer's own app otherwise.
func (s *Service) call(ctx context.Context, c *store.Connection, cr *store.Credentials) (*oauth.Token, error) {
	authority := authorityOf(c)
	if c.AuthType == "client_credentials" {
		if c.ClientID == "" || cr.ClientSecret == "" {
			return nil, &oauth.Error{Code: "invalid_client", Description: "The broker holds no client ID or client secret for this connection."}
		}
		return s.provider.ClientCredentials(ctx, authority, c.ClientID, cr.ClientSecret)
	}
	if cr.RefreshToken == "" {
		return nil, &oauth.Error{Code: "invalid_grant", Description: "The broker holds no refresh token for this connection."}
	}
	return s.provider.Refresh(ctx, authority, cr.RefreshToken)
}

// authorityOf is the token endpoint's {tenant} for a connection.
func authorityOf(c *store.Connection) string {
	if c.AccountType == "tenant" {
		return c.MSTenant
	}
	return c.AccountType // common | organizations | consumers
}

// backoff is the wait before retry number attempt: Retry-After when
// Microsoft gave one (plus a little jitter so replicas do not return in
// step), else exponential, capped, with equal jitter.
func (s *Service) backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return retryAfter + rand.N(retryAfter/10+time.Millisecond)
	}
	d := min(s.opts.BackoffMax, s.opts.BackoffBase<<min(attempt-1, 16))
	return d/2 + rand.N(d/2+1)
}

// sleep waits d unless ctx ends first; it reports whether it slept in full.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
