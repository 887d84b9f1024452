package apphealth

import (
	"context"
	"errors"
	"time"

	"github.com/brokerhq/broker/internal/oauth"
)

// Guard is the broker's Microsoft provider with the Monitor in front of the
// calls that authenticate as the broker's own app: refreshing and redeeming
// codes. Client credentials use each customer's own app and pass straight
// through; a failure there is that connection's alone.
type Guard struct {
	oauth.Provider
	Monitor *Monitor
}

// Refresh refreshes, unless the app is known to be failing and this is not
// the probe: then it answers at once, without asking Microsoft, with an
// error the token service treats as "retry later" (the connection keeps
// its status) and that names the broker's condition. While the probe is at
// Microsoft, other refreshes wait for its answer (within their context), so
// the first cycle after an operator's fix refreshes every connection.
func (g *Guard) Refresh(ctx context.Context, authority, refreshToken string) (*oauth.Token, error) {
	ok, probe, wait, probing := g.Monitor.admit()
	for !ok && probing != nil {
		select {
		case <-probing: // the probe answered: ask again
			ok, probe, wait, probing = g.Monitor.admit()
		case <-ctx.Done():
			probing = nil
		}
	}
	if !ok {
		g.Monitor.count(false)
		return nil, g.Monitor.paused(g.Monitor.Condition(), wait)
	}
	g.Monitor.count(true)
	tok, err := g.Provider.Refresh(ctx, authority, refreshToken)
	return tok, g.after(err, probe)
}

// Exchange redeems a code. A person is waiting at the callback, so it is
// never held back, but its answer counts like a refresh's.
func (g *Guard) Exchange(ctx context.Context, authority, code, verifier string) (*oauth.Token, error) {
	_, probe, _, _ := g.Monitor.admit()
	g.Monitor.count(true)
	tok, err := g.Provider.Exchange(ctx, authority, code, verifier)
	return tok, g.after(err, probe)
}

// after reports the answer and turns an app failure into the paused error.
func (g *Guard) after(err error, probe bool) error {
	cond := g.Monitor.done(err, probe)
	var oe *oauth.Error
	if cond == nil || !errors.As(err, &oe) || len(oe.ErrorCodes) == 0 || g.Monitor.kind(oe.ErrorCodes[0]) == "" {
		return err
	}
	return g.Monitor.paused(cond, cond.NextProbe.Sub(g.Monitor.opts.Now()))
}

// paused is the answer while the app fails: Microsoft's code and trace ID
// for support, BrokerApp set so that the token service retries later and
// never records it as the connection's own failure.
func (m *Monitor) paused(c *Condition, wait time.Duration) error {
	name, who := "The broker's own app registration", "an operator"
	if m.opts.Name != "" {
		name, who = m.opts.Name, "a tenant admin"
	}
	e := &oauth.Error{BrokerApp: true, RetryAfter: max(wait, time.Second), Code: "invalid_client",
		Description: name + " is failing; refreshes are paused until " + who + " fixes it."}
	if c != nil {
		e.TraceID, e.ErrorCodes = c.TraceID, []int{c.code}
		e.Description = name + " is failing (" + c.Code + ": " + c.Summary +
			"); refreshes are paused until " + who + " fixes it."
	}
	return e
}

// ResolveTenant passes discovery through: it does not authenticate as the app.
func (g *Guard) ResolveTenant(ctx context.Context, domain string) (string, error) {
	r, ok := g.Provider.(interface {
		ResolveTenant(ctx context.Context, domain string) (string, error)
	})
	if !ok {
		return "", errors.New("apphealth: the provider cannot resolve tenants")
	}
	return r.ResolveTenant(ctx, domain)
}
