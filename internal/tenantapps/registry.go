// Package tenantapps is each tenant's own app registrations: an admin
// registers an Entra app of their organisation (client ID, secret or
// certificate, supported account types), verified at Microsoft when saved;
// projects choose one as the default for new connections, and a connection
// signs in, refreshes and asks for admin consent as the app it was made
// with. A refused app is one condition of the tenant (recorded on the app's
// row, shown once), not N broken connections: internal/apphealth paces it,
// exactly as it does the broker's own app.
package tenantapps

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/brokerhq/broker/internal/apphealth"
	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
)

// Registry hands out the identity-platform client a connection uses: the
// broker's own (app ID "") or a tenant app's, opened once and kept (the
// credential is decrypted when loaded, not per request).
type Registry struct {
	Store  *store.Store
	Broker oauth.Provider // the broker's own app, behind its apphealth.Guard
	// Base carries the endpoints, redirect URI, HTTP client and clock that
	// every app's client shares; its own client ID and credential are unused.
	Base   *oauth.Microsoft
	Logger *slog.Logger
	Now    func() time.Time
	// TTL bounds how long an opened credential is kept before it is read
	// again, so a rotation made on another replica is picked up (default 1m).
	TTL time.Duration

	mu       sync.Mutex
	apps     map[string]*entry // by app ID
	monitors map[string]*apphealth.Monitor
}

type entry struct {
	tenantID string
	p        *appProvider
	loaded   time.Time
}

// ErrUnknownApp is an app ID that is not the tenant's.
var ErrUnknownApp = errors.New("tenantapps: no such app registration")

func (r *Registry) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Provider returns the client for appID of tenantID ("" is the broker's).
func (r *Registry) Provider(ctx context.Context, tenantID, appID string) (oauth.Provider, error) {
	if appID == "" {
		return r.Broker, nil
	}
	ttl := r.TTL
	if ttl <= 0 {
		ttl = time.Minute
	}
	r.mu.Lock()
	e := r.apps[appID]
	r.mu.Unlock()
	if e != nil && e.tenantID == tenantID && r.now().Sub(e.loaded) < ttl {
		return e.p, nil
	}
	a, cred, err := r.Store.AppRegistrationCredential(ctx, tenantID, appID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrUnknownApp
	}
	if err != nil {
		return nil, fmt.Errorf("tenantapps: load app: %w", err)
	}
	c, err := oauth.StoredCredential(cred)
	if err != nil {
		return nil, fmt.Errorf("tenantapps: open app credential: %w", err)
	}
	p := &appProvider{reg: r, app: a}
	p.Guard = apphealth.Guard{Provider: r.client(a.ClientID, c), Monitor: r.monitor(a)}
	p.failing.Store(a.Failing())
	r.mu.Lock()
	if r.apps == nil {
		r.apps = map[string]*entry{}
	}
	r.apps[appID] = &entry{tenantID: tenantID, p: p, loaded: r.now()}
	r.mu.Unlock()
	return p, nil
}

// Forget drops an app's opened credential: the next use reads it again.
func (r *Registry) Forget(appID string) {
	r.mu.Lock()
	delete(r.apps, appID)
	r.mu.Unlock()
}

// Reset forgets the credential and the health of an app whose credential
// an admin just replaced (verified) or that was deleted: its connections
// refresh with the new credential at once, without waiting for the
// failing app's next probe.
func (r *Registry) Reset(appID string) {
	r.mu.Lock()
	delete(r.apps, appID)
	delete(r.monitors, appID)
	r.mu.Unlock()
}

// client is the Microsoft client authenticating as clientID with cred.
func (r *Registry) client(clientID string, cred oauth.Credential) *oauth.Microsoft {
	b := r.Base
	return &oauth.Microsoft{LoginBase: b.LoginBase, GraphBase: b.GraphBase, GraphResource: b.GraphResource,
		ClientID: clientID, Credential: cred, RedirectURL: b.RedirectURL, HTTPClient: b.HTTPClient, Now: b.Now}
}

// monitor is the app's health in this process, kept across reloads.
func (r *Registry) monitor(a store.AppRegistration) *apphealth.Monitor {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.monitors[a.ID]; m != nil {
		return m
	}
	opts := apphealth.Options{Now: r.now, Name: "Your app registration “" + a.Label() + "”", Todo: todo,
		OnChange: func(c *apphealth.Condition) { r.recordCondition(a, c) }}
	if a.Audience == store.AudienceSingle {
		opts.Kinds = map[int]apphealth.Kind{700016: apphealth.AppNotFound}
	}
	m := apphealth.New(opts)
	if r.monitors == nil {
		r.monitors = map[string]*apphealth.Monitor{}
	}
	r.monitors[a.ID] = m
	return m
}

// Condition is the app's failure seen by this process, or nil.
func (r *Registry) Condition(appID string) *apphealth.Condition {
	r.mu.Lock()
	m := r.monitors[appID]
	r.mu.Unlock()
	if m == nil {
		return nil
	}
	return m.Condition()
}

// recordCondition writes the app's condition on its row, where every
// replica's pages read it, and forgets the opened credential on a failure
// so the next probe reads a rotation made elsewhere.
func (r *Registry) recordCondition(a store.AppRegistration, c *apphealth.Condition) {
	f := store.AppFailure{At: r.now()}
	if c != nil {
		f.Code, f.Summary, f.TraceID = c.Code, c.Summary, c.TraceID
		r.Forget(a.ID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	changed, err := r.Store.SetAppFailure(ctx, a.TenantID, a.ID, f)
	if err != nil {
		r.log().Error("tenantapps: app condition not recorded", "app", a.ID, "err", err)
		return
	}
	if !changed {
		return
	}
	action, details := "tenant.app_recovered", map[string]any{"app_id": a.ID, "client_id": a.ClientID}
	if c != nil {
		action, details["code"], details["trace_id"] = "tenant.app_failing", c.Code, c.TraceID
		r.log().Warn("tenantapps: Microsoft refuses a tenant's app registration", "tenant", a.TenantID, "app", a.ID,
			"client_id", a.ClientID, "code", c.Code, "trace_id", c.TraceID)
	}
	if err := r.Store.AppendAudit(ctx, store.AuditEvent{TenantID: a.TenantID, ActorType: "system", ActorLabel: "broker",
		Action: action, Details: details}); err != nil {
		r.log().Error("tenantapps: audit event not written", "action", action, "err", err)
	}
}

func (r *Registry) log() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

// todo says what a tenant admin does about each kind of failure.
var todo = map[apphealth.Kind]string{
	apphealth.SecretExpired: "The app's client secret has expired. In the Azure portal, add a new client secret to the app " +
		"registration (Certificates & secrets), then paste its Value under Settings › App registrations › Rotate credential. " +
		"Connections keep their status and refresh by themselves once it works.",
	apphealth.SecretInvalid: "Microsoft does not accept the client secret the broker holds for this app: it was deleted or replaced. " +
		"Add a new client secret in the Azure portal and paste its Value under Settings › App registrations › Rotate credential. " +
		"Connections keep their status and refresh by themselves once it works.",
	apphealth.AppDisabled: "The app registration is disabled in Microsoft Entra. An administrator of its home tenant must enable it " +
		"again (Enterprise applications › the app › Properties › Enabled for users to sign in).",
	apphealth.CertificateRejected: "Microsoft does not accept the app's certificate: it was removed from the app registration or has " +
		"expired. Upload a certificate under Certificates & secrets and rotate the credential here with its private key.",
	apphealth.AssertionTime: "Microsoft says the broker's client assertion is outside its valid time: the broker host's clock is off. " +
		"Tell the broker's operator.",
	apphealth.RedirectURIMismatch: "The app registration does not list the broker's redirect URI. Add it under Authentication › " +
		"Redirect URIs (Web platform), exactly as shown on this page.",
	apphealth.AppNotFound: "Microsoft finds no such application in its directory: the app registration was deleted, or the client " +
		"ID is wrong. Restore it in the Azure portal (App registrations › Deleted applications), or register another app here.",
}
