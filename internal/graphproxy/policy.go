package graphproxy

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/brokerhq/broker/internal/store"
)

// Policies reads projects' allowlists from the store and keeps each for
// a few seconds, so the proxy's warm path asks Postgres nothing; a change
// applies on every replica within the TTL.
type Policies struct {
	st  *store.Store
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	m  map[string]cachedPolicy // tenant/project → rules
}

type cachedPolicy struct {
	rules []store.GraphRule
	at    time.Time
}

// NewPolicies returns a cache over st (ttl default 5s).
func NewPolicies(st *store.Store, ttl time.Duration, now func() time.Time) *Policies {
	if ttl <= 0 {
		ttl = 5 * time.Second
	}
	if now == nil {
		now = time.Now
	}
	return &Policies{st: st, ttl: ttl, now: now, m: map[string]cachedPolicy{}}
}

// Rules returns a project's rules; none means no limit.
func (p *Policies) Rules(ctx context.Context, tenantID, projectID string) ([]store.GraphRule, error) {
	k, now := tenantID+"/"+projectID, p.now()
	p.mu.Lock()
	c, ok := p.m[k]
	p.mu.Unlock()
	if ok && now.Sub(c.at) < p.ttl {
		return c.rules, nil
	}
	rules, err := p.st.GraphPolicy(ctx, tenantID, projectID)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.m[k] = cachedPolicy{rules: rules, at: now}
	p.mu.Unlock()
	return rules, nil
}

// Allows reports whether a rule lets method reach path (unescaped, without
// query). Graph's paths are case-insensitive, and a prefix covers whole
// segments only: /v1.0/me/messages allows /v1.0/me/messages/{id}, never
// /v1.0/me/messagesX.
func Allows(rules []store.GraphRule, method, path string) bool {
	if len(rules) == 0 {
		return true
	}
	path = strings.TrimSuffix(path, "/")
	for _, r := range rules {
		if r.Method != "*" && !strings.EqualFold(r.Method, method) {
			continue
		}
		prefix := strings.TrimSuffix(r.PathPrefix, "/")
		if len(path) >= len(prefix) && strings.EqualFold(path[:len(prefix)], prefix) &&
			(len(path) == len(prefix) || path[len(prefix)] == '/') {
			return true
		}
	}
	return false
}

// ParseRule reads "METHOD /path/prefix" (METHOD may be *), as the CLI and
// tests write rules.
func ParseRule(s string) (store.GraphRule, bool) {
	method, prefix, ok := strings.Cut(strings.TrimSpace(s), " ")
	prefix = strings.TrimSpace(prefix)
	method = strings.ToUpper(method)
	switch method {
	case "*", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE":
	default:
		return store.GraphRule{}, false
	}
	if !ok || strings.ContainsAny(prefix, "?#") {
		return store.GraphRule{}, false
	}
	clean, ok := cleanPath(strings.TrimRight(prefix, "/") + "/")
	if !ok {
		return store.GraphRule{}, false
	}
	return store.GraphRule{Method: method, PathPrefix: strings.TrimSuffix(clean, "/")}, true
}

// batchAllowed checks every request inside a $batch body against the
// rules: a batch is the way round a path allowlist otherwise.
// https://learn.microsoft.com/en-us/graph/json-batching
func batchAllowed(rules []store.GraphRule, version string, body []byte) bool {
	var in struct {
		Requests []struct {
			Method string `json:"method"`
			URL    string `json:"url"`
		} `json:"requests"`
	}
	if json.Unmarshal(body, &in) != nil {
		return false
	}
	for _, r := range in.Requests {
		u, err := url.Parse(r.URL)
		if err != nil || u.IsAbs() || u.Host != "" {
			return false
		}
		p, ok := cleanPath(version + "/" + strings.TrimPrefix(u.EscapedPath(), "/"))
		if !ok || strings.HasSuffix(strings.ToLower(p), "/$batch") || !Allows(rules, strings.ToUpper(r.Method), p) {
			return false
		}
	}
	return true
}
