package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// keySets caches one JWKS per authority, found through the authority's
// discovery document, as the reference says. The lock guards the map only:
// each authority's discovery runs outside it, once, bounded by
// discoveryTimeout, while callers for that authority wait on it and callers
// for others proceed. A failed discovery is not kept (the next sign-in tries
// again), and the map holds at most maxKeySets authorities (tenant-specific
// authorities come from people's input), dropping the least recently used.
type keySets struct {
	mu   sync.Mutex
	sets map[string]*keySetEntry
}

type keySetEntry struct {
	ready chan struct{} // closed when ks or err is set
	ks    *oidc.RemoteKeySet
	err   error
	used  time.Time
}

const (
	discoveryTimeout = 5 * time.Second
	maxKeySets       = 1024
)

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsGUID reports whether s is a GUID.
func IsGUID(s string) bool { return guidRE.MatchString(s) }

func (m *Microsoft) keySet(ctx context.Context, authority string) (*oidc.RemoteKeySet, error) {
	key := strings.ToLower(authority)
	m.keys.mu.Lock()
	e, ok := m.keys.sets[key]
	if !ok {
		if m.keys.sets == nil {
			m.keys.sets = map[string]*keySetEntry{}
		}
		m.keys.evict()
		e = &keySetEntry{ready: make(chan struct{})}
		m.keys.sets[key] = e
	}
	e.used = time.Now()
	m.keys.mu.Unlock()
	if !ok {
		// Detached from the caller: others may be waiting on this fetch.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discoveryTimeout)
		e.ks, e.err = m.discoverKeySet(fctx, authority)
		cancel()
		if e.err != nil {
			m.keys.mu.Lock()
			if m.keys.sets[key] == e {
				delete(m.keys.sets, key)
			}
			m.keys.mu.Unlock()
		}
		close(e.ready)
	}
	select {
	case <-e.ready:
		return e.ks, e.err
	case <-ctx.Done():
		return nil, &Error{Network: true, Description: networkSummary(ctx.Err())}
	}
}

// evict drops the least recently used finished entry when the map is full.
// Called with mu held.
func (k *keySets) evict() {
	if len(k.sets) < maxKeySets {
		return
	}
	var oldest string
	var at time.Time
	for name, e := range k.sets {
		select {
		case <-e.ready:
		default:
			continue // in flight: someone waits on it
		}
		if oldest == "" || e.used.Before(at) {
			oldest, at = name, e.used
		}
	}
	if oldest != "" {
		delete(k.sets, oldest)
	}
}

// discoverKeySet reads the authority's discovery document for its jwks_uri.
func (m *Microsoft) discoverKeySet(ctx context.Context, authority string) (*oidc.RemoteKeySet, error) {
	disco := m.LoginBase + "/" + url.PathEscape(authority) + "/v2.0/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, disco, nil)
	if err != nil {
		return nil, err
	}
	resp, err := m.client().Do(req)
	if err != nil {
		return nil, &Error{Network: true, Description: networkSummary(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("oauth: discovery for %s answered HTTP %d", authority, resp.StatusCode)
	}
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil || doc.JWKSURI == "" {
		return nil, fmt.Errorf("oauth: discovery for %s has no jwks_uri", authority)
	}
	return oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), m.client()), doc.JWKSURI), nil
}

func (m *Microsoft) client() *http.Client {
	if m.HTTPClient != nil {
		return m.HTTPClient
	}
	return http.DefaultClient
}

// VerifyIDToken checks signature (JWKS by kid, RS256), aud, exp/iat/nbf,
// nonce, and the issuer with {tenantid} substituted: Entra's multi-tenant
// discovery documents carry a template, so go-oidc's own issuer check is
// skipped and done here instead.
func (m *Microsoft) VerifyIDToken(ctx context.Context, authority, raw, nonce string) (*IDClaims, error) {
	ks, err := m.keySet(ctx, authority)
	if err != nil {
		return nil, err
	}
	v := oidc.NewVerifier("", ks, &oidc.Config{ClientID: m.ClientID, SkipIssuerCheck: true,
		SupportedSigningAlgs: []string{oidc.RS256}, Now: m.now})
	tok, err := v.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("oauth: id_token rejected: %w", err)
	}
	var c IDClaims
	if err := tok.Claims(&c); err != nil {
		return nil, fmt.Errorf("oauth: id_token claims: %w", err)
	}
	if nonce == "" || c.Nonce != nonce {
		return nil, fmt.Errorf("oauth: id_token nonce does not match the sign-in")
	}
	if !IsGUID(c.TenantID) {
		return nil, fmt.Errorf("oauth: id_token tid is not a GUID")
	}
	if want := m.LoginBase + "/" + c.TenantID + "/v2.0"; c.Issuer != want {
		return nil, fmt.Errorf("oauth: id_token issuer %q, want %q", c.Issuer, want)
	}
	if IsGUID(authority) && !strings.EqualFold(authority, c.TenantID) {
		return nil, fmt.Errorf("oauth: id_token is from tenant %s, not the connection's tenant", c.TenantID)
	}
	if authority == "consumers" && c.TenantID != ConsumersTenantID {
		return nil, fmt.Errorf("oauth: a Consumer connection signed in with a work or school account")
	}
	if authority == "organizations" && c.TenantID == ConsumersTenantID {
		return nil, fmt.Errorf("oauth: an Organization connection signed in with a personal account")
	}
	return &c, nil
}
