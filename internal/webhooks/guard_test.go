package webhooks_test

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/webhooks"
)

// resolver answers names from a table; a name with several answers gives
// them in turn, one per lookup (the last one repeats): a DNS server whose
// answer changes between checks.
type resolver struct {
	answers map[string][]string
	calls   atomic.Int32
}

func (r *resolver) lookup(_ context.Context, host string) ([]netip.Addr, error) {
	n := int(r.calls.Add(1)) - 1
	a, ok := r.answers[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	return []netip.Addr{netip.MustParseAddr(a[min(n, len(a)-1)])}, nil
}

// TestGuardRefusesInternalAddresses: each address is refused when the
// endpoint is saved and again at the dial, where a real receiver listens
// on 127.0.0.1 to prove nothing reaches it.
func TestGuardRefusesInternalAddresses(t *testing.T) {
	var hits atomic.Int32
	rc := newReceiver(t, func(int, received) (int, http.Header) { hits.Add(1); return 204, nil })
	port := rc.srv.URL[strings.LastIndex(rc.srv.URL, ":")+1:]
	cases := []struct{ name, addr, want string }{
		{"ipv4 loopback", "127.0.0.1", "loopback"},
		{"ipv6 loopback", "::1", "loopback"},
		{"ipv4-mapped loopback", "::ffff:127.0.0.1", "loopback"},
		{"10/8", "10.1.2.3", "private"},
		{"172.16/12", "172.20.0.5", "private"},
		{"192.168/16", "192.168.1.10", "private"},
		{"metadata", "169.254.169.254", "link-local"},
		{"cgnat", "100.64.1.1", "carrier-grade NAT"},
		{"unspecified", "0.0.0.0", "unspecified"},
		{"ipv6 unique local", "fd00:ec2::254", "private"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &resolver{answers: map[string][]string{"target.test": {tc.addr}}}
			g := &webhooks.Guard{Lookup: r.lookup}
			// The IP literal and a name resolving to it, when saved.
			host := tc.addr
			if strings.Contains(host, ":") {
				host = "[" + host + "]"
			}
			for _, u := range []string{"https://" + host + "/hook", "https://target.test/hook"} {
				err := g.CheckURL(context.Background(), u)
				if re, ok := webhooks.AsRefused(err); !ok || !strings.Contains(re.Reason, tc.want) {
					t.Fatalf("CheckURL(%s): %v, want refused as %s", u, err, tc.want)
				}
			}
			// At the dial: plain http so a 127.0.0.1 dial would reach the receiver.
			g.AllowHTTPHosts = []string{"target.test"}
			resp, err := g.Client(5*time.Second).Post("http://target.test:"+port+"/hook", "application/json", nil)
			if resp != nil {
				resp.Body.Close()
			}
			if re, ok := webhooks.AsRefused(err); !ok || !strings.Contains(re.Reason, tc.want) {
				t.Fatalf("dial: %v, want refused as %s", err, tc.want)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the receiver on 127.0.0.1 was reached %d times", n)
	}
}

// TestGuardRefusesRebinding: the name resolves to a public address when
// the endpoint is saved and to loopback at delivery; the dial refuses.
func TestGuardRefusesRebinding(t *testing.T) {
	var hits atomic.Int32
	rc := newReceiver(t, func(int, received) (int, http.Header) { hits.Add(1); return 204, nil })
	port := rc.srv.URL[strings.LastIndex(rc.srv.URL, ":")+1:]
	r := &resolver{answers: map[string][]string{"rebind.test": {"93.184.215.14", "127.0.0.1"}}}
	g := &webhooks.Guard{Lookup: r.lookup, AllowHTTPHosts: []string{"rebind.test"}}
	if err := g.CheckURL(context.Background(), "http://rebind.test:"+port+"/hook"); err != nil {
		t.Fatalf("first check (public answer): %v", err)
	}
	resp, err := g.Client(5*time.Second).Post("http://rebind.test:"+port+"/hook", "application/json", nil)
	if resp != nil {
		resp.Body.Close()
	}
	if re, ok := webhooks.AsRefused(err); !ok || !strings.Contains(re.Reason, "127.0.0.1 is a loopback") {
		t.Fatalf("second check: %v, want refused as loopback", err)
	}
	if hits.Load() != 0 || r.calls.Load() != 2 {
		t.Fatalf("receiver hits %d, lookups %d", hits.Load(), r.calls.Load())
	}
}

func TestGuardSchemesAndAllowedNetworks(t *testing.T) {
	rc := newReceiver(t, nil)
	g := &webhooks.Guard{}
	for _, u := range []string{"http://example.com/hook", "ftp://example.com/x", "https://user:pw@example.com/x", "/relative", "https://example.com/x#frag"} {
		if _, ok := webhooks.AsRefused(g.CheckURL(context.Background(), u)); !ok {
			t.Errorf("%s was admitted", u)
		}
	}
	// Plain http to an allowed host and 127.0.0.1 in an allowed network reach the receiver.
	g = localGuard()
	if err := g.CheckURL(context.Background(), rc.srv.URL+"/hook"); err != nil {
		t.Fatal(err)
	}
	resp, err := g.Client(5*time.Second).Post(rc.srv.URL+"/hook", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(rc.all()) != 1 {
		t.Fatal("the allowed receiver got nothing")
	}
	// Redirects are not followed.
	redirect := newReceiver(t, func(int, received) (int, http.Header) {
		return http.StatusFound, http.Header{"Location": {rc.srv.URL + "/elsewhere"}}
	})
	resp, err = g.Client(5*time.Second).Post(redirect.srv.URL+"/hook", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || len(rc.all()) != 1 {
		t.Fatalf("redirect followed: status %d, target got %d", resp.StatusCode, len(rc.all()))
	}
}

// TestRefusalShownOnTheDelivery: a delivery the guard refuses records why,
// for the endpoint's page, and is retried on schedule (the answer may change).
func TestRefusalShownOnTheDelivery(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, nil)
	ep, _ := e.endpoint(t, rc.srv.URL+"/hook")
	g := &webhooks.Guard{AllowHTTPHosts: []string{"127.0.0.1"}} // http allowed, the network not
	w := &webhooks.Worker{Store: e.st, Guard: g, Now: func() time.Time { return time.Now().Add(time.Minute) }}
	e.setStatus(t, "needs_reauth", "AADSTS50173")
	if n, _ := w.RunOnce(context.Background()); n != 1 {
		t.Fatal("nothing attempted")
	}
	d := deliveries(t, e.st, e.tenant.ID, ep.ID)[0]
	if d.Status != "pending" || !strings.Contains(d.LastError, "refused: 127.0.0.1 is a loopback address") || len(rc.all()) != 0 {
		t.Fatalf("refused delivery: %+v, receiver got %d", d, len(rc.all()))
	}
}
