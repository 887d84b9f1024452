// Package graphproxy forwards API callers' requests to Microsoft Graph with
// a connection's access token, so a service never holds a Microsoft token:
// a safe allowlist of headers each way, bodies streamed (never buffered
// unless a retry or the policy needs them), one forced refresh and one retry
// when Graph rejects the token, Graph's throttling passed through (or waited
// out on request), a per-connection concurrency limit, a per-project path
// allowlist, hourly audit counts and metrics.
package graphproxy

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brokerhq/broker/internal/tokens"
)

// Options tune a Proxy; zero values take the defaults.
type Options struct {
	GraphBase string            // Graph's base URL, without a version (BROKER_MICROSOFT_GRAPH_URL, per cloud)
	Transport http.RoundTripper // default: a pooled transport with HeaderTimeout
	// MaxBody caps a request body (default 4 MiB, Graph's own limit for a
	// request: larger uploads use upload sessions, which go to another host).
	MaxBody int64
	// Timeout bounds one proxied request, retries and the streaming of the
	// answer included (default 5m); HeaderTimeout bounds the wait for
	// Graph's response headers (default 60s).
	Timeout, HeaderTimeout time.Duration
	// Concurrency is the requests in flight per connection in this replica
	// (default 4, Outlook's per-mailbox limit); a request over it waits up
	// to QueueWait (default 2s) and is then answered 429 with Retry-After.
	Concurrency int
	QueueWait   time.Duration
	// MaxRetryWait is the longest Retry-After a request with
	// Broker-Retry: on waits out (default 30s); longer ones pass through.
	MaxRetryWait time.Duration
	// TokenWait bounds the wait for a token refresh (default 10s).
	TokenWait time.Duration
	Now       func() time.Time
	Logger    *slog.Logger
	// Registerer gets the proxy's metrics; nil: not exported.
	Registerer prometheus.Registerer
	// Refuse writes the broker's own answer (problem+json) for a refusal.
	Refuse func(http.ResponseWriter, *Refusal)
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Timeout, 5*time.Minute)
	def(&o.HeaderTimeout, 60*time.Second)
	def(&o.QueueWait, 2*time.Second)
	def(&o.MaxRetryWait, 30*time.Second)
	def(&o.TokenWait, 10*time.Second)
	if o.MaxBody <= 0 {
		o.MaxBody = 4 << 20
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 512, 256
		t.ResponseHeaderTimeout = o.HeaderTimeout
		// Accept-Encoding is the caller's to send; the answer passes through
		// compressed, never inflated in the broker's memory.
		t.DisableCompression = true
		o.Transport = t
	}
}

// Proxy forwards requests to Graph. One per process; safe for concurrent use.
type Proxy struct {
	tokens   *tokens.Service
	policies *Policies
	audit    *Audit // nil: not recorded
	opts     Options
	client   *http.Client
	limit    *limiter
	m        *metrics
}

// New returns a Proxy. audit may be nil.
func New(svc *tokens.Service, policies *Policies, audit *Audit, o Options) (*Proxy, error) {
	if o.GraphBase == "" || o.Refuse == nil {
		return nil, errors.New("graphproxy: GraphBase and Refuse are required")
	}
	o.GraphBase = strings.TrimRight(o.GraphBase, "/")
	o.defaults()
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	// Graph's redirects (a download's Location on another host) go back to
	// the caller: following one would carry the bearer token elsewhere.
	client := &http.Client{Transport: o.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &Proxy{tokens: svc, policies: policies, audit: audit, opts: o, client: client,
		limit: newLimiter(o.Concurrency), m: m}, nil
}

// Call is one request to forward, as the API handler authenticated it.
type Call struct {
	TenantID, KeyID string
	ProjectIDs      []string // the key's projects; nil: any
	ConnID          string
	Path            string // escaped, from the version on: /v1.0/me/messages
}

// Refusal is an answer the broker gives itself instead of Graph's: a
// problem code of the API (Token set: the token service's error).
type Refusal struct {
	Code       string
	Detail     string
	RetryAfter time.Duration
	Token      *tokens.Error
}

// Refusal codes of the proxy, beside the API's invalid_request,
// upstream_unavailable and internal_error.
const (
	CodeDenied   = "graph_request_denied" // 403: the project's policy does not allow it
	CodeTooLarge = "request_too_large"    // 413: body over MaxBody
	CodeBusy     = "connection_busy"      // 429: over the per-connection limit
)

// Serve forwards r for c and writes the answer: Graph's, or the broker's
// own through Options.Refuse.
func (p *Proxy) Serve(w http.ResponseWriter, r *http.Request, c Call) {
	x := &exchange{p: p, w: w, r: r, c: c}
	defer x.finish() // also when a broken stream aborts the handler
	x.run()
}
