package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/app"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

// faultWorld is one broker served on loopback against the simulation, with
// a tenant, API keys and connections made through its own store.
type faultWorld struct {
	ms     *tokenstest.Microsoft
	app    *app.App
	base   string
	tenant store.Tenant
	proj   store.Project
	stop   func()
	made   int
}

func startFaultWorld(t *testing.T, dbURL string, tune func(env map[string]string)) *faultWorld {
	t.Helper()
	w := &faultWorld{ms: tokenstest.StartMicrosoft()}
	t.Cleanup(w.ms.Server.Close)
	env := map[string]string{"BROKER_DATABASE_URL": dbURL, "BROKER_ENCRYPTION_KEYS": keys, "BROKER_SESSION_KEYS": keys,
		"BROKER_MICROSOFT_CLIENT_ID": w.ms.Demo.WebApp.ClientID, "BROKER_MICROSOFT_CLIENT_SECRET": w.ms.Demo.WebApp.Secret,
		"BROKER_MICROSOFT_LOGIN_URL": w.ms.Server.URL, "BROKER_MICROSOFT_GRAPH_URL": w.ms.Server.URL,
		"BROKER_LISTEN_ADDR": "127.0.0.1:0", "BROKER_SHUTDOWN_DELAY": "0s"}
	if tune != nil {
		tune(env)
	}
	cfg := testConfigFrom(t, env)
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, app.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: w.ms.Sim.Now})
	if err != nil {
		t.Fatal(err)
	}
	w.app = a
	if w.tenant, err = a.Store.CreateTenant(ctx, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	if w.proj, err = a.Store.CreateProject(ctx, w.tenant.ID, "Sales"); err != nil {
		t.Fatal(err)
	}
	addrc := make(chan net.Addr, 1)
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx, cfg.ListenAddr, func(ad net.Addr) { addrc <- ad }) }()
	w.base = "http://" + (<-addrc).String()
	w.stop = func() {
		cancel()
		select {
		case <-served:
		case <-time.After(20 * time.Second):
			t.Error("Serve did not stop")
		}
	}
	t.Cleanup(w.stop)
	return w
}

func (w *faultWorld) key(t *testing.T, name string) string {
	t.Helper()
	raw, _, err := apikeys.Create(context.Background(), w.app.Store, apikeys.NewKey{TenantID: w.tenant.ID, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func (w *faultWorld) conns(t *testing.T, n int, expired bool) []string {
	t.Helper()
	var ids []string
	for range n {
		c, err := w.ms.Create(context.Background(), w.app.Store, tokenstest.Conn{TenantID: w.tenant.ID, ProjectID: w.proj.ID,
			Name: fmt.Sprintf("mailbox-%d", w.made), UPN: w.ms.Demo.Adele.UPN, Expired: expired})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
		w.made++
	}
	return ids
}

// answer is one HTTP answer: status, Retry-After, problem code, time taken.
type answer struct {
	status     int
	retryAfter string
	took       time.Duration
}

func (w *faultWorld) get(ctx context.Context, path, key string) answer {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.base+path, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{status: -1, took: time.Since(start)}
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), took: time.Since(start)}
}

func tokenPath(id string, query string) string {
	return "/api/v1/connections/" + id + "/token" + query
}

// Fault 1: eight connections whose refreshes take 15 s at Microsoft, on a
// replica with a pool of 4. Refreshes hold no database connection while
// Microsoft answers, so /readyz stays 200 and other connections and
// uncached API keys are served in their usual time.
func TestSlowMicrosoftDoesNotStarveThePool(t *testing.T) {
	w := startFaultWorld(t, testdb.New(t), func(env map[string]string) { env["BROKER_DATABASE_MAX_CONNS"] = "4" })
	slow := w.conns(t, 8, true)
	others := w.conns(t, 4, false)
	key := w.key(t, "slow-callers")
	ctx := context.Background()
	usual := w.get(ctx, tokenPath(others[0], ""), key) // a cache miss and an uncached key, before
	if usual.status != 200 {
		t.Fatalf("before: %d", usual.status)
	}
	w.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, Latency: 15 * time.Second})
	callers, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, id := range slow {
		wg.Go(func() { w.get(callers, tokenPath(id, ""), key) })
	}
	defer func() { cancel(); wg.Wait() }()
	for w.ms.Sim.Count(mssim.EndpointToken, "refresh_token") < int64(len(slow)) {
		time.Sleep(10 * time.Millisecond) // until all eight wait on Microsoft
	}
	var worst time.Duration
	for i, id := range others[1:] {
		for _, a := range []answer{w.get(ctx, "/readyz", ""), w.get(ctx, tokenPath(id, ""), w.key(t, fmt.Sprintf("fresh-%d", i)))} {
			if a.status != 200 || a.took > time.Second {
				t.Fatalf("while 8 refreshes wait on Microsoft: HTTP %d after %s", a.status, a.took)
			}
			worst = max(worst, a.took)
		}
	}
	t.Logf("with 8 refreshes waiting 15 s on Microsoft and a pool of 4: /readyz, cache-miss fetches with new keys: slowest %s (before: %s)",
		worst.Round(time.Millisecond), usual.took.Round(time.Millisecond))
}

// Fault 4: Postgres unreachable under load. Warm fetches (and a forced
// refresh, from the still-valid cached token) keep answering 200; fetches
// that need the database answer 503 service_unavailable with Retry-After,
// never 500; when it is back, everything recovers without a restart.
func TestDatabaseOutageIsAnsweredHonestly(t *testing.T) {
	proxied, outage := testdb.WithOutage(t, testdb.New(t))
	w := startFaultWorld(t, proxied, nil)
	warm := w.conns(t, 1, false)[0]
	cold := w.conns(t, 6, false)
	key := w.key(t, "warm")
	ctx := context.Background()
	if a := w.get(ctx, tokenPath(warm, ""), key); a.status != 200 {
		t.Fatalf("warm-up: %d", a.status)
	}
	newKey := w.key(t, "never-used")
	outage.Cut()
	var mu sync.Mutex
	counts := map[string]int{}
	count := func(kind string, a answer) {
		mu.Lock()
		defer mu.Unlock()
		counts[fmt.Sprintf("%s %d", kind, a.status)]++
		if a.status == 503 && a.retryAfter == "" {
			counts[kind+" 503 without Retry-After"]++
		}
	}
	loadCtx, stopLoad := context.WithTimeout(ctx, 3*time.Second)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for loadCtx.Err() == nil {
				count("warm", w.get(ctx, tokenPath(warm, ""), key))
				time.Sleep(5 * time.Millisecond) // inside the key's rate limit
			}
		})
	}
	for i, id := range cold[:3] {
		wg.Go(func() {
			count("uncached connection", w.get(ctx, tokenPath(id, ""), key))
			count("uncached key", w.get(ctx, tokenPath(warm, ""), newKey))
			if i == 0 {
				count("forced refresh", w.get(ctx, tokenPath(warm, "?force_refresh=true"), key))
			}
		})
	}
	wg.Wait()
	stopLoad()
	outage.Restore()
	t.Logf("during the outage: %v", counts)
	for k, n := range counts {
		switch k {
		case "warm 200", "forced refresh 200", "uncached connection 503", "uncached key 503":
		default:
			t.Errorf("%d × %s", n, k)
		}
	}
	if counts["warm 200"] == 0 || counts["uncached connection 503"] != 3 || counts["uncached key 503"] != 3 || counts["forced refresh 200"] != 1 {
		t.Fatalf("during the outage: %v", counts)
	}
	// Back: the same replica serves what needed the database, no restart.
	deadline := time.Now().Add(10 * time.Second)
	for _, id := range cold {
		for {
			a := w.get(ctx, tokenPath(id, ""), newKey)
			if a.status == 200 {
				break
			}
			if a.status != 503 || time.Now().After(deadline) {
				t.Fatalf("after the outage: HTTP %d", a.status)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if a := w.get(ctx, "/readyz", ""); a.status != 200 {
		t.Fatalf("/readyz after the outage: %d", a.status)
	}
}
