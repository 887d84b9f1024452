package clienttest

import (
	"errors"
	"sync"
	"testing"
	"time"

	brokerclient "github.com/brokerhq/broker/client"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

// 1,000 Token calls, 100 at a time, cost the broker one request.
func TestTokenSourceOneBrokerCall(t *testing.T) {
	e := newEnv(t)
	c := e.conn(t, tokenstest.Conn{})
	ts := e.client.TokenSource(c.ID, brokerclient.MinTTL(5*time.Minute))
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]int{}
	for range 100 {
		wg.Go(func() {
			for range 10 {
				tok, err := ts.Token()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seen[tok.AccessToken]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	cached, refreshed := e.tokensHanded(t, c.ID)
	if cached+refreshed != 1 || len(seen) != 1 {
		t.Fatalf("1000 Token calls: broker handed %d tokens (%d cached, %d refreshed), %d distinct", cached+refreshed, cached, refreshed, len(seen))
	}
	for tok, n := range seen {
		if n != 1000 || tok == "" {
			t.Fatalf("token seen %d times", n)
		}
	}
}

// A cached token is used until its expiry minus MinTTL; then the client
// asks again and gets a new one.
func TestTokenSourceExpiry(t *testing.T) {
	e := newEnv(t)
	// Tokens of 3002s asked for with MinTTL 3000s are good for 2s in the cache.
	e.ms.Sim.SetLifetimes(mssim.Lifetimes{AccessMin: 3002 * time.Second, AccessMax: 3002 * time.Second})
	c := e.conn(t, tokenstest.Conn{Expired: true})
	ts := e.client.TokenSource(c.ID, brokerclient.MinTTL(3000*time.Second))
	first, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	again, _ := ts.Token()
	if again.AccessToken != first.AccessToken {
		t.Fatal("a token inside its window was not reused")
	}
	if _, refreshed := e.tokensHanded(t, c.ID); refreshed != 1 {
		t.Fatalf("first token: %d refreshed", refreshed)
	}
	time.Sleep(2500 * time.Millisecond)
	later, err := ts.Token()
	if err != nil || later.AccessToken == first.AccessToken {
		t.Fatalf("after the window: %v, same token %v", err, later != nil && later.AccessToken == first.AccessToken)
	}
	if cached, refreshed := e.tokensHanded(t, c.ID); cached != 0 || refreshed != 2 {
		t.Fatalf("broker handed %d cached, %d refreshed; want 0, 2", cached, refreshed)
	}
}

// Every refusal reaches the caller as *brokerclient.Error with the broker's
// code, Microsoft's AADSTS and trace ID where Microsoft decided, and
// Retry-After where there is one.
func TestTokenSourceErrors(t *testing.T) {
	e := newEnv(t)
	d := e.ms.Demo
	revoked := e.conn(t, tokenstest.Conn{Name: "revoked", UPN: d.Alex.UPN, Expired: true})
	e.ms.Sim.RevokeUser(d.Alex.UPN)
	consent := e.conn(t, tokenstest.Conn{Name: "consent", UPN: d.FabrikamAdmin.UPN, AccountType: "organizations", Expired: true})
	e.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, User: d.FabrikamAdmin.UPN, Error: "invalid_grant", Code: 65001})
	throttled := e.conn(t, tokenstest.Conn{Name: "throttled", UPN: d.ContosoAdmin.UPN, Expired: true})
	e.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, User: d.ContosoAdmin.UPN, Status: 429, RetryAfter: 30 * time.Second})
	active := e.conn(t, tokenstest.Conn{Name: "active"})
	badKey := brokerclient.New(e.url, "brk_not_a_key")
	for _, tc := range []struct {
		name   string
		ts     func() error
		status int
		code   string
		aadsts string
		retry  bool
	}{
		{"revoked grant", tok(e.client, revoked.ID), 409, "reauthorization_required", "AADSTS50173", false},
		{"bad secret", tok(e.client, e.conn(t, tokenstest.Conn{Name: "bad-secret", ClientSecret: "wrong"}).ID), 409, "configuration_error", "AADSTS7000215", false},
		{"consent", tok(e.client, consent.ID), 409, "consent_required", "AADSTS65001", false},
		{"disabled", tok(e.client, e.conn(t, tokenstest.Conn{Name: "disabled", Status: "disabled"}).ID), 409, "connection_disabled", "", false},
		{"approval", tok(e.client, e.conn(t, tokenstest.Conn{Name: "approval", Status: "awaiting_approval"}).ID), 409, "connection_not_approved", "", false},
		{"pending", tok(e.client, e.conn(t, tokenstest.Conn{Name: "pending", Status: "pending"}).ID), 409, "connection_pending", "", false},
		{"throttled", tok(e.client, throttled.ID), 503, "upstream_unavailable", "AADSTS90055", true},
		{"missing", tok(e.client, "00000000-0000-4000-8000-000000000000"), 404, "connection_not_found", "", false},
		{"bad key", tok(badKey, active.ID), 401, "unauthorized", "", false},
		{"min_ttl too long", func() error {
			_, err := e.client.TokenSource(active.ID, brokerclient.MinTTL(4000*time.Second)).Token()
			return err
		}, 400, "invalid_request", "", false},
	} {
		err := tc.ts()
		var be *brokerclient.Error
		if !errors.As(err, &be) {
			t.Errorf("%s: %v is not a *brokerclient.Error", tc.name, err)
			continue
		}
		if be.Status != tc.status || be.Code != tc.code || be.AADSTS != tc.aadsts || (tc.aadsts != "") != (be.TraceID != "") ||
			tc.retry != (be.RetryAfter > 0) || be.Detail == "" {
			t.Errorf("%s: %+v", tc.name, *be)
		}
	}

}

func tok(c *brokerclient.Client, id string) func() error {
	return func() error {
		_, err := c.TokenSource(id).Token()
		return err
	}
}
