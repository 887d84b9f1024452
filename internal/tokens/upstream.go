package tokens

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
)

// decision is what the claim decided from the row as it is now.
type decision struct {
	have    *entry // the token Postgres holds, as an entry
	refresh bool   // ask Microsoft now (the claim takes the lease if it is free)
	err     *Error // the status refuses tokens, or a back-off window is running
}

// decide runs inside the claim's short transaction and does no I/O. It uses
// a token another replica stored meanwhile, honours a recorded back-off
// window, and otherwise asks for the refresh.
func (s *Service) decide(c *store.Connection, cr *store.Credentials, st store.RefreshState, p plan) decision {
	now := s.now()
	have := newEntry(c, cr.AccessToken, cr.AccessTokenExpiresAt)
	if have.err != nil {
		return decision{have: have, err: have.err}
	}
	switch {
	case !p.force && have.satisfies(now, p.minTTL):
		return decision{have: have} // another replica refreshed meanwhile
	case p.force && have.access != p.stale && have.satisfies(now, p.minTTL):
		return decision{have: have} // a forced refresh elsewhere already replaced the stale token
	case p.force && now.Sub(have.mintedAt) < s.opts.ForceCooldown && have.satisfies(now, p.minTTL):
		return decision{have: have} // refreshed a moment ago: as new as a token gets
	}
	if st.NotBefore != nil && now.Before(*st.NotBefore) {
		have.notBefore = *st.NotBefore
		return decision{have: have, err: unavailable(nil, st.NotBefore.Sub(now))}
	}
	return decision{have: have, refresh: true}
}

// attempt makes the one request to Microsoft a claim allows and records its
// outcome under the lease. It frees the slot takeSlot took.
func (s *Service) attempt(ctx context.Context, claim *store.Claim, holder string, p plan) flightResult {
	c, cr := &claim.Conn, &claim.Creds
	actx, cancel := context.WithTimeout(ctx, s.opts.AttemptTimeout)
	s.stats.upstream.Add(1)
	tok, err := s.call(actx, c, cr)
	cancel()
	s.freeSlot()
	now := s.now() // the back-off window starts when the failure was seen
	zero, none := time.Time{}, 0
	var w store.TokenWrite
	var fail *Error
	switch {
	case err == nil:
		u := store.ConnectionUpdate{AccessToken: &tok.AccessToken, AccessTokenExpiresAt: &tok.ExpiresAt,
			Status: s.secretWarning(c, now)}
		if tok.RefreshToken != "" { // none in the answer: keep the old one
			u.RefreshToken = &tok.RefreshToken
		}
		if len(tok.Scopes) > 0 {
			holds := tok.RefreshToken != "" || cr.RefreshToken != ""
			u.GrantedScopes = oauth.GrantedScopes(c.RequestedScopes, tok.Scopes, holds)
		}
		w = store.TokenWrite{Update: &u, NotBefore: &zero, RefreshedAt: &now, Failures: &none}
	case ctx.Err() != nil:
		// The flight ran out of time or the service is stopping: that says
		// nothing about Microsoft. Release the lease, record nothing.
		fail = unavailable(err, time.Second)
	default:
		var oe *oauth.Error
		if !errors.As(err, &oe) {
			oe = &oauth.Error{Network: true, Description: "request failed"}
			if actx.Err() != nil {
				oe.Description = "no answer within " + s.opts.AttemptTimeout.String()
			}
		}
		switch class := oe.Class(); {
		case oe.BrokerApp:
			// The broker's own app registration fails (internal/apphealth
			// paces its probes): Microsoft was not asked about this
			// connection, so its failures in a row stay as they are; it waits
			// for the app's Retry-After like every other connection.
			nb := now.Add(max(oe.RetryAfter, time.Second))
			w = store.TokenWrite{NotBefore: &nb}
			fail = unavailable(oe, nb.Sub(now))
		case class == oauth.ClassTransient || class == oauth.ClassClientBug:
			failures := claim.State.Failures + 1
			wait := s.window(failures, oe.RetryAfter)
			if class == oauth.ClassClientBug {
				wait = max(wait, time.Minute) // AADSTS50196: Microsoft saw a loop; stay away a while
			}
			nb := now.Add(wait)
			w = store.TokenWrite{NotBefore: &nb, Failures: &failures}
			fail = unavailable(oe, wait)
		default:
			// Permanent: record why, and refresh no more until someone reconnects.
			ev, e := permanentError(oe, class)
			fail = e
			s.log.Warn("tokens: Microsoft refused a refresh", "connection", c.ID, "code", oe.AADSTS(), "error", oe.Code,
				"trace_id", oe.TraceID, "status", ev.Status)
			w = store.TokenWrite{Update: &store.ConnectionUpdate{Status: &ev}, NotBefore: &zero, Failures: &none}
		}
	}
	stored, err := s.finish(c, holder, w)
	return s.settle(c, tok, fail, stored, err)
}

// finish writes under the lease, retrying a database that does not answer
// while the lease stands. It runs past the flight's end: a token Microsoft
// issued is worth storing even while the service stops.
func (s *Service) finish(c *store.Connection, holder string, w store.TokenWrite) (store.Connection, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Lease)
	defer cancel()
	for round := 1; ; round++ {
		stored, err := s.st.FinishRefresh(ctx, c.TenantID, c.ID, holder, w)
		if err == nil || !store.Unavailable(err) || errors.Is(err, store.ErrBusy) && round >= 3 {
			return stored, err
		}
		s.log.Warn("tokens: refresh could not be stored; trying again", "connection", c.ID, "round", round, "err", err)
		if !sleep(ctx, s.backoff(round)) {
			return stored, err
		}
	}
}

// settle turns a finished attempt into the flight's result and memory.
func (s *Service) settle(c *store.Connection, tok *oauth.Token, fail *Error, stored store.Connection, err error) flightResult {
	switch {
	case err != nil && tok != nil:
		// Microsoft answered but the token could not be stored (the database
		// stayed away, or the lease was taken over): serve it from memory. The
		// stored refresh token still works at Microsoft for the next refresh.
		s.log.Error("tokens: serving a token that could not be stored", "connection", c.ID, "err", err)
		e := newEntry(c, tok.AccessToken, tok.ExpiresAt)
		s.put(e)
		return flightResult{e: e, fresh: true}
	case err != nil && errors.Is(err, store.ErrLeaseLost):
		return flightResult{err: pickErr(fail, unavailable(err, time.Second))}
	case err != nil:
		if fail != nil && passes(fail) {
			return flightResult{err: fail}
		}
		return flightResult{err: s.storeError("record the refresh", err)}
	case tok != nil:
		s.stats.refreshed.Add(1)
		e := newEntry(&stored, tok.AccessToken, tok.ExpiresAt)
		s.put(e)
		return flightResult{e: e, fresh: true}
	case fail != nil && !passes(fail):
		s.put(newEntry(&stored, "", time.Time{}))
		return flightResult{err: fail}
	default:
		// A transient failure: the caller may still be served the old token.
		return flightResult{err: fail}
	}
}

func pickErr(a, b *Error) *Error {
	if a != nil {
		return a
	}
	return b
}

// secretWarning flags a client secret close to its recorded expiry; the
// connection keeps serving tokens meanwhile.
func (s *Service) secretWarning(c *store.Connection, now time.Time) *store.StatusEvent {
	if c.Status != "active" || c.AuthType != "client_credentials" || c.ClientSecretExpiresAt == nil ||
		c.ClientSecretExpiresAt.Sub(now) > SecretWarning {
		return nil
	}
	what := "client secret"
	if c.ClientCertThumbprint != "" {
		what = "certificate"
	}
	return &store.StatusEvent{Status: "secret_expiring",
		Reason: "The " + what + " expires on " + c.ClientSecretExpiresAt.UTC().Format("2006-01-02") + "; add a new one before then."}
}

// SecretWarning is how long before a client secret's recorded expiry the
// connection is flagged secret_expiring.
const SecretWarning = 14 * 24 * time.Hour

// call makes one token request: a refresh for authorization-code
// connections, client credentials with the customer's own app otherwise.
func (s *Service) call(ctx context.Context, c *store.Connection, cr *store.Credentials) (*oauth.Token, error) {
	authority := authorityOf(c)
	if c.AuthType == "client_credentials" {
		if c.ClientID == "" || cr.ClientSecret == "" {
			return nil, &oauth.Error{Code: "invalid_client", Description: "The broker holds no client ID or client secret for this connection."}
		}
		cred, err := oauth.StoredCredential(cr.ClientSecret)
		if err != nil {
			return nil, &oauth.Error{Code: "invalid_client", Description: "The broker cannot read this connection's stored certificate."}
		}
		return s.provider.ClientCredentials(ctx, authority, c.ClientID, cred)
	}
	if cr.RefreshToken == "" {
		return nil, &oauth.Error{Code: "invalid_grant", Description: "The broker holds no refresh token for this connection."}
	}
	p := s.provider
	if c.AppID != "" && s.opts.Apps != nil {
		// The refresh token belongs to the app the connection was made with.
		ap, err := s.opts.Apps.Provider(ctx, c.TenantID, c.AppID)
		if err != nil {
			s.log.Error("tokens: the connection's app registration could not be loaded", "connection", c.ID, "app", c.AppID, "err", err)
			return nil, &oauth.Error{HTTPStatus: 503, Code: "temporarily_unavailable",
				Description: "The broker could not load the connection's app registration."}
		}
		p = ap
	}
	return p.Refresh(ctx, authority, cr.RefreshToken)
}

// authorityOf is the token endpoint's {tenant} for a connection.
func authorityOf(c *store.Connection) string {
	if c.AccountType == "tenant" {
		return c.MSTenant
	}
	return c.AccountType // common | organizations | consumers
}

// window is the back-off after the failures-th transient failure in a row:
// Microsoft's Retry-After when it gave one, exactly (replicas returning in
// step need no jitter: one of them wins the claim, the others wait on it);
// otherwise exponential from BackoffBase, capped at BackoffMax, with equal
// jitter.
func (s *Service) window(failures int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return retryAfter
	}
	return s.backoff(failures)
}

func (s *Service) backoff(n int) time.Duration {
	d := min(s.opts.BackoffMax, s.opts.BackoffBase<<min(max(n, 1)-1, 16))
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
