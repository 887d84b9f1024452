package mssim

import (
	"strings"
	"sync"
	"sync/atomic"
)

// Endpoint names for Count. The second argument of Count is the grant type
// for EndpointToken and the resource ("me", "users", "mailFolders",
// "messages") for EndpointGraph; "" means all requests to the endpoint.
const (
	EndpointAuthorize    = "authorize"    // GET …/oauth2/v2.0/authorize
	EndpointLogin        = "login"        // sign-in form posts
	EndpointConsent      = "consent"      // consent form posts
	EndpointAdminConsent = "adminconsent" // GET …/v2.0/adminconsent
	EndpointToken        = "token"
	EndpointDiscovery    = "discovery"
	EndpointKeys         = "keys"
	EndpointGraph        = "graph"
)

var counterLayout = map[string][]string{
	EndpointAuthorize:    nil,
	EndpointLogin:        nil,
	EndpointConsent:      nil,
	EndpointAdminConsent: nil,
	EndpointToken:        {"authorization_code", "refresh_token", "client_credentials", "other"},
	EndpointDiscovery:    nil,
	EndpointKeys:         nil,
	EndpointGraph:        {"me", "users", "mailFolders", "messages", "other"},
}

// counters is built once and never resized, so counting is two atomic adds
// and no lock: exact under any concurrency.
type counters struct {
	eps map[string]*endpointCounter
	// byClient counts the same requests per client_id as sent (lower
	// case), so a test can tell which app registration made them:
	// "clientID endpoint" and "clientID endpoint/grant" → *atomic.Int64.
	byClient sync.Map
}

type endpointCounter struct {
	total atomic.Int64
	subs  map[string]*atomic.Int64
}

func newCounters() *counters {
	c := &counters{eps: make(map[string]*endpointCounter, len(counterLayout))}
	for ep, subs := range counterLayout {
		ec := &endpointCounter{subs: make(map[string]*atomic.Int64, len(subs))}
		for _, sub := range subs {
			ec.subs[sub] = new(atomic.Int64)
		}
		c.eps[ep] = ec
	}
	return c
}

// inc counts one request; an unknown sub counts as "other".
func (c *counters) inc(ep, sub string) {
	ec := c.eps[ep]
	ec.total.Add(1)
	if len(ec.subs) == 0 {
		return
	}
	n := ec.subs[sub]
	if n == nil {
		n = ec.subs["other"]
	}
	n.Add(1)
}

// incClient counts one request made as clientID ("" is not counted).
func (c *counters) incClient(clientID, ep, sub string) {
	if clientID == "" {
		return
	}
	keys := []string{strings.ToLower(clientID) + " " + ep}
	if sub != "" {
		keys = append(keys, keys[0]+"/"+sub)
	}
	for _, k := range keys {
		v, _ := c.byClient.LoadOrStore(k, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
}

// CountFor is Count for the requests made as one app registration
// (client_id, any case): authorize, adminconsent and token requests.
func (s *Sim) CountFor(clientID, endpoint, grant string) int64 {
	k := strings.ToLower(clientID) + " " + endpoint
	if grant != "" {
		k += "/" + grant
	}
	if v, ok := s.counts.byClient.Load(k); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// CountsFor is Counts for one client ID.
func (s *Sim) CountsFor(clientID string) map[string]int64 {
	prefix := strings.ToLower(clientID) + " "
	out := map[string]int64{}
	s.counts.byClient.Range(func(k, v any) bool {
		if key := k.(string); strings.HasPrefix(key, prefix) {
			if n := v.(*atomic.Int64).Load(); n != 0 {
				out[strings.TrimPrefix(key, prefix)] = n
			}
		}
		return true
	})
	return out
}

// Count returns how many requests reached endpoint (one of the Endpoint
// constants) with the given grant type or Graph resource; grant "" counts
// them all. Failed and fault-injected requests count too.
func (s *Sim) Count(endpoint, grant string) int64 {
	ec := s.counts.eps[endpoint]
	if ec == nil {
		return 0
	}
	if grant == "" {
		return ec.total.Load()
	}
	if n := ec.subs[grant]; n != nil {
		return n.Load()
	}
	return 0
}

// Counts is a snapshot of every non-zero counter, keyed "endpoint" and
// "endpoint/grant" (e.g. "token/refresh_token").
func (s *Sim) Counts() map[string]int64 {
	out := map[string]int64{}
	for ep, ec := range s.counts.eps {
		if n := ec.total.Load(); n != 0 {
			out[ep] = n
		}
		for sub, n := range ec.subs {
			if v := n.Load(); v != 0 {
				out[ep+"/"+sub] = v
			}
		}
	}
	return out
}

// ResetCounts sets every counter to zero.
func (s *Sim) ResetCounts() {
	s.counts.byClient.Range(func(k, _ any) bool { s.counts.byClient.Delete(k); return true })
	for _, ec := range s.counts.eps {
		ec.total.Store(0)
		for _, n := range ec.subs {
			n.Store(0)
		}
	}
}
