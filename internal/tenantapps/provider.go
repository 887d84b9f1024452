package tenantapps

import (
	"context"
	"sync/atomic"

	"github.com/brokerhq/broker/internal/apphealth"
	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
)

// appProvider is a tenant app's client behind its own apphealth.Guard: a
// refused app pauses the refreshes of its connections (BrokerApp errors:
// retry later, the connections keep their status) and probes once per
// back-off. A success clears a failure the row still records, whichever
// replica recorded it.
type appProvider struct {
	apphealth.Guard
	reg     *Registry
	app     store.AppRegistration
	failing atomic.Bool // the row records a failure
}

// ClientID is the app's Application (client) ID.
func (p *appProvider) ClientID() string { return p.app.ClientID }

func (p *appProvider) Refresh(ctx context.Context, authority, refreshToken string) (*oauth.Token, error) {
	tok, err := p.Guard.Refresh(ctx, authority, refreshToken)
	p.worked(err)
	return tok, err
}

func (p *appProvider) Exchange(ctx context.Context, authority, code, verifier string) (*oauth.Token, error) {
	tok, err := p.Guard.Exchange(ctx, authority, code, verifier)
	p.worked(err)
	return tok, err
}

// worked clears the row's recorded failure after an answer that proves
// the app authenticated: a success, or a refusal of the grant alone.
func (p *appProvider) worked(err error) {
	if !p.failing.Load() || p.Monitor.Condition() != nil {
		return
	}
	if oe, ok := err.(*oauth.Error); ok && (oe.BrokerApp || oe.Transient()) {
		return
	}
	if err != nil {
		if _, ok := err.(*oauth.Error); !ok {
			return
		}
	}
	if p.failing.CompareAndSwap(true, false) {
		p.reg.recordCondition(p.app, nil)
	}
}
