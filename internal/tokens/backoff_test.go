package tokens_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

// recorder notes when each token request was sent and answered, whichever
// replica sent it.
type recorder struct {
	base  http.RoundTripper
	mu    sync.Mutex
	sends []time.Time
	backs []time.Time
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	token := strings.HasSuffix(req.URL.Path, "/token")
	if token {
		r.mu.Lock()
		r.sends = append(r.sends, time.Now())
		r.mu.Unlock()
	}
	resp, err := r.base.RoundTrip(req)
	if token {
		r.mu.Lock()
		r.backs = append(r.backs, time.Now())
		r.mu.Unlock()
	}
	return resp, err
}

// Microsoft fails every refresh for the whole run while three replicas
// take constant load on one connection: across the replicas each request
// to Microsoft is sent only after the back-off window the one before it
// recorded, so upstream attempts ≤ back-off windows; a Retry-After is never
// cut short by any replica; callers are told the real remaining wait.
func TestBackoffHoldsAcrossReplicas(t *testing.T) {
	const run = 5 * time.Second
	opts := tokens.Options{BackoffBase: 200 * time.Millisecond, BackoffMax: 2 * time.Second}
	for _, tc := range []struct {
		name  string
		fault mssim.Fault
		// floor is the shortest window the n-th failure in a row may record.
		floor func(n int) time.Duration
	}{
		{name: "503 without Retry-After", fault: mssim.Fault{Endpoint: mssim.EndpointToken, Status: 503},
			floor: func(n int) time.Duration { return min(opts.BackoffMax, opts.BackoffBase<<(n-1)) / 2 }},
		{name: "429 Retry-After 2", fault: mssim.Fault{Endpoint: mssim.EndpointToken, Status: 429, RetryAfter: 2 * time.Second},
			floor: func(int) time.Duration { return 2 * time.Second }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			c := e.conn(t, tokenstest.Conn{Expired: true})
			rec := &recorder{base: http.DefaultTransport}
			var svcs []*tokens.Service
			for range 3 {
				p := e.ms.Provider()
				p.HTTPClient = &http.Client{Transport: rec}
				svcs = append(svcs, e.replicaWith(t, p, opts))
			}
			e.ms.Sim.InjectFault(tc.fault)
			ctx, cancel := context.WithTimeout(context.Background(), run)
			defer cancel()
			var wg sync.WaitGroup
			var mu sync.Mutex
			answers := 0
			for i := range 30 {
				wg.Go(func() {
					for ctx.Err() == nil {
						_, err := svcs[i%3].Token(ctx, e.tenant.ID, c.ID, tokens.Request{Wait: time.Second})
						te, ok := tokens.AsError(err)
						if !ok || te.Code != tokens.CodeUnavailable || te.RetryAfter <= 0 {
							t.Errorf("answer %v", err)
							return
						}
						mu.Lock()
						answers++
						mu.Unlock()
						// Come back when told (the real wait), not at once.
						wait := min(te.RetryAfter, 500*time.Millisecond)
						select {
						case <-time.After(wait):
						case <-ctx.Done():
						}
					}
				})
			}
			wg.Wait()
			rec.mu.Lock()
			defer rec.mu.Unlock()
			n := len(rec.sends)
			if n == 0 {
				t.Fatal("no request reached Microsoft")
			}
			for i := 1; i < n; i++ {
				gap := rec.sends[i].Sub(rec.backs[i-1])
				if floor := tc.floor(i); gap < floor {
					t.Fatalf("request %d was sent %s after the answer to request %d, inside its window of at least %s", i+1, gap, i, floor)
				}
			}
			t.Logf("%d callers' answers over %s; %d requests reached Microsoft, each after the previous one's window", answers, run, n)
		})
	}
}
