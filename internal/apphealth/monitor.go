// Package apphealth keeps the health of the broker's own app registration at
// Microsoft (BROKER_MICROSOFT_CLIENT_ID and its secret). Every
// authorization-code connection refreshes with that one app, so when its
// secret expires or is wrong, or the app is disabled, every refresh fails at
// once: that is one broker condition for an operator to fix, not N broken
// connections. The Monitor records the condition, pauses refreshes with
// back-off (one probe per back-off period goes to Microsoft; the rest wait
// without calling it), and clears the moment a probe succeeds, so every
// connection recovers by itself.
package apphealth

import (
	"errors"
	"sync"
	"time"

	"github.com/brokerhq/broker/internal/oauth"
)

// Kind names what is wrong with the app registration.
type Kind string

const (
	SecretExpired       Kind = "secret_expired"        // AADSTS7000222
	SecretInvalid       Kind = "secret_invalid"        // AADSTS7000215
	AppDisabled         Kind = "app_disabled"          // AADSTS7000112
	RedirectURIMismatch Kind = "redirect_uri_mismatch" // AADSTS50011
	CertificateRejected Kind = "certificate_rejected"  // AADSTS700027
	AssertionTime       Kind = "assertion_time"        // AADSTS700024
)

// kinds are the platform's answers that concern the app itself, never one
// user or grant (Microsoft Entra error codes reference,
// learn.microsoft.com/entra/identity-platform/reference-error-codes).
var kinds = map[int]Kind{7000222: SecretExpired, 7000215: SecretInvalid, 7000112: AppDisabled, 50011: RedirectURIMismatch,
	700027: CertificateRejected, 700024: AssertionTime}

// todo says what an operator does about each kind.
var todo = map[Kind]string{
	SecretExpired: "The client secret of the broker's app registration has expired. In the Azure portal, App registrations › the broker's app › " +
		"Certificates & secrets, add a new client secret, put its Value in BROKER_MICROSOFT_CLIENT_SECRET (and its expiry in " +
		"BROKER_MICROSOFT_CLIENT_SECRET_EXPIRES_AT), and restart the broker. Connections keep their status and refresh by themselves once it works.",
	SecretInvalid: "Microsoft does not accept the broker's client secret (BROKER_MICROSOFT_CLIENT_SECRET): it is wrong, was deleted, or is the secret's ID " +
		"instead of its Value. Put the Value of a current secret of the app registration in BROKER_MICROSOFT_CLIENT_SECRET and restart the broker. " +
		"Connections keep their status and refresh by themselves once it works.",
	AppDisabled: "The broker's app registration is disabled in Microsoft Entra. An administrator of its home tenant must enable it again " +
		"(Enterprise applications › the broker's app › Properties › Enabled for users to sign in). Connections recover by themselves afterwards.",
	CertificateRejected: "Microsoft does not accept the broker's client assertion: the certificate in BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE " +
		"(or BROKER_MICROSOFT_CLIENT_PKCS12_FILE) is not uploaded to the app registration, was removed, or has expired. Upload its public " +
		"certificate under Certificates & secrets › Certificates (the thumbprints must match) and restart the broker if you changed the file.",
	AssertionTime: "Microsoft says the broker's client assertion is not within its valid time range: the broker host's clock is off. " +
		"Synchronise the clock (NTP); connections recover by themselves afterwards.",
	RedirectURIMismatch: "Microsoft does not accept the broker's redirect URI. Add BROKER_PUBLIC_URL + /oauth/callback to the app registration's " +
		"Authentication › Redirect URIs (or fix BROKER_PUBLIC_URL) and restart the broker.",
}

// Condition is a failure of the broker's own app registration. Every field
// is safe to show: codes and Microsoft's one-line summary, never a secret.
type Condition struct {
	Kind      Kind      `json:"kind"`
	Code      string    `json:"code"` // AADSTS7000222
	Summary   string    `json:"summary"`
	Action    string    `json:"action"` // what to do
	TraceID   string    `json:"trace_id,omitempty"`
	Since     time.Time `json:"since"`
	LastProbe time.Time `json:"last_probe"`
	NextProbe time.Time `json:"next_probe"`
	Failures  int       `json:"failures"` // answers from Microsoft while failing

	code int // 7000222
}

// Options tune a Monitor; zero values take the defaults.
type Options struct {
	Now func() time.Time
	// BackoffBase and BackoffMax space the probes while the app fails:
	// doubling from BackoffBase (default 5s) up to BackoffMax (default 30s,
	// the keep-alive interval, so a fix is found within one keep-alive cycle).
	BackoffBase, BackoffMax time.Duration
	// SecretExpiresAt is BROKER_MICROSOFT_CLIENT_SECRET_EXPIRES_AT, if set,
	// or the certificate's expiry when the app uses one.
	SecretExpiresAt *time.Time
	// Certificate: the broker's app credential is a certificate (its
	// notices name the certificate, not a secret).
	Certificate bool

	// A tenant's own app registration (internal/tenantapps) is watched the
	// same way. Name names it in the paused error ("" is the broker's own
	// app); Todo replaces the operator's instructions per kind; Kinds adds
	// codes that concern this app as a whole (700016 for a single-tenant
	// app, whose one directory is its home); OnChange is called, outside
	// the lock, with the new condition when one is raised or changes kind,
	// and with nil when it clears.
	Name     string
	Todo     map[Kind]string
	Kinds    map[int]Kind
	OnChange func(*Condition)
}

// AppNotFound is AADSTS700016 where it can only mean the app itself is
// gone (a single-tenant app asked in its own directory).
const AppNotFound Kind = "app_not_found"

// kind is the app-wide kind of an AADSTS code, or "".
func (m *Monitor) kind(code int) Kind {
	if k, ok := kinds[code]; ok {
		return k
	}
	return m.opts.Kinds[code]
}

// Monitor is the app registration's health in this process. Safe for
// concurrent use.
type Monitor struct {
	opts Options

	mu      sync.Mutex
	cond    *Condition
	backoff time.Duration
	probing chan struct{} // open while the one probe is at Microsoft; closed when it answers

	stats struct {
		sync.Mutex
		upstream, paused, conditions int64
	}
}

// New returns a healthy Monitor.
func New(opts Options) *Monitor {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = 5 * time.Second
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = 30 * time.Second
	}
	opts.BackoffMax = max(opts.BackoffMax, opts.BackoffBase)
	return &Monitor{opts: opts}
}

// Condition returns the current failure, or nil while the app works.
func (m *Monitor) Condition() *Condition {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cond == nil {
		return nil
	}
	c := *m.cond
	return &c
}

// admit decides whether a request with the app may go to Microsoft now: yes
// while healthy; while failing, only one probe per back-off period. probe
// reports that this request is that probe (its outcome must be reported
// with done); wait is how long until the next probe otherwise.
func (m *Monitor) admit() (ok, probe bool, wait time.Duration, probing <-chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cond == nil {
		return true, false, 0, nil
	}
	now := m.opts.Now()
	if m.probing != nil {
		// The probe's answer decides for this request too: wait for it
		// rather than be paused by a condition the probe may be clearing.
		return false, false, max(m.cond.NextProbe.Sub(now), time.Second), m.probing
	}
	if now.Before(m.cond.NextProbe) {
		return false, false, max(m.cond.NextProbe.Sub(now), time.Second), nil
	}
	m.probing = make(chan struct{})
	m.cond.LastProbe = now
	return true, true, 0, nil
}

// done records what Microsoft answered a request made with the app. Any
// answer other than an app failure proves the app authenticated (Microsoft
// checks the client before the grant), so it clears the condition; a
// transient failure proves nothing either way.
func (m *Monitor) done(err error, probe bool) *Condition {
	before := m.Condition()
	c := m.record(err, probe)
	changed := (c == nil) != (before == nil) || c != nil && c.Kind != before.Kind
	if m.opts.OnChange != nil && changed {
		m.opts.OnChange(c)
	}
	return c
}

func (m *Monitor) record(err error, probe bool) *Condition {
	var oe *oauth.Error
	errors.As(err, &oe)
	m.mu.Lock()
	defer m.mu.Unlock()
	if probe && m.probing != nil {
		close(m.probing)
		m.probing = nil
	}
	if err != nil && (oe == nil || oe.Transient()) {
		return m.cond
	}
	kind := Kind("")
	if oe != nil && len(oe.ErrorCodes) > 0 {
		kind = m.kind(oe.ErrorCodes[0])
	}
	failing := kind != ""
	if !failing {
		m.cond, m.backoff = nil, 0
		return nil
	}
	now := m.opts.Now()
	if m.cond == nil || m.cond.Kind != kind {
		m.stats.Lock()
		m.stats.conditions++
		m.stats.Unlock()
		m.cond = &Condition{Kind: kind, Since: now, LastProbe: now}
		m.backoff = 0
	}
	m.backoff = min(max(m.backoff*2, m.opts.BackoffBase), m.opts.BackoffMax)
	action := todo[kind]
	if t, ok := m.opts.Todo[kind]; ok {
		action = t
	}
	m.cond.Code, m.cond.Summary, m.cond.Action, m.cond.TraceID = oe.AADSTS(), oe.Summary(), action, oe.TraceID
	m.cond.code = oe.ErrorCodes[0]
	m.cond.NextProbe = now.Add(m.backoff)
	m.cond.Failures++
	c := *m.cond
	return &c
}

// Stats are counters since start.
type Stats struct {
	Upstream   int64 // requests with the app that went to Microsoft
	Paused     int64 // requests answered without asking Microsoft, while failing
	Conditions int64 // conditions raised
}

// Stats returns the counters.
func (m *Monitor) Stats() Stats {
	m.stats.Lock()
	defer m.stats.Unlock()
	return Stats{Upstream: m.stats.upstream, Paused: m.stats.paused, Conditions: m.stats.conditions}
}

func (m *Monitor) count(upstream bool) {
	m.stats.Lock()
	defer m.stats.Unlock()
	if upstream {
		m.stats.upstream++
	} else {
		m.stats.paused++
	}
}
