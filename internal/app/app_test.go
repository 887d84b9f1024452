package app_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/app"
	"github.com/brokerhq/broker/internal/config"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/testdb"
)

const keys = "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

func testConfig(t *testing.T, url string) *config.Config {
	t.Helper()
	return testConfigFrom(t, map[string]string{"BROKER_DATABASE_URL": url, "BROKER_ENCRYPTION_KEYS": keys, "BROKER_SESSION_KEYS": keys,
		"BROKER_MICROSOFT_CLIENT_ID": "x", "BROKER_MICROSOFT_CLIENT_SECRET": "y", "BROKER_LISTEN_ADDR": "127.0.0.1:0",
		"BROKER_SHUTDOWN_DELAY": "0s"})
}

func testConfigFrom(t *testing.T, env map[string]string) *config.Config {
	t.Helper()
	cfg, err := config.Load(func(k string) string { return env[k] }, config.Need{Keys: true, SessionKeys: true, Microsoft: true})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestServeIsReadyThenDrains starts the real server on loopback, checks
// /readyz, then cancels: /readyz turns 503 for the shutdown delay while the
// listener still serves, then the server stops.
func TestServeIsReadyThenDrains(t *testing.T) {
	cfg := testConfig(t, testdb.New(t))
	cfg.ShutdownDelay = time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, app.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	addrc := make(chan net.Addr, 1)
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx, cfg.ListenAddr, func(ad net.Addr) { addrc <- ad }) }()
	base := "http://" + (<-addrc).String()
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s = %d", path, resp.StatusCode)
		}
	}
	// By default /metrics is nowhere: not on the public listener.
	resp, err := http.Get(base + "/metrics")
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("public /metrics by default: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	cancel()
	stopped := time.Now()
	status := func(path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("%s during the shutdown delay: %v", path, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for status("/readyz") != http.StatusServiceUnavailable {
		if time.Since(stopped) > 500*time.Millisecond {
			t.Fatal("/readyz did not turn 503 on shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code := status("/healthz"); code != 200 || time.Since(stopped) > 900*time.Millisecond {
		t.Fatalf("/healthz = %d during the delay", code)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not stop")
	}
	if time.Since(stopped) < time.Second {
		t.Fatalf("stopped %s after the signal, before the shutdown delay", time.Since(stopped))
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("still accepting after shutdown")
	}
}

func TestNoMigrateRefusesAnOldSchema(t *testing.T) {
	// A fresh, empty database: its schema is older than the binary.

	url := testdb.Empty(t)

	_, err := app.New(context.Background(), app.Options{Config: testConfig(t, url), NoMigrate: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "schema is older") {
		t.Fatalf("err = %v", err)
	}
}

func TestUnreachableDatabaseIsOneClearLine(t *testing.T) {
	cfg := testConfig(t, "postgres://postgres:hunter2@127.0.0.1:1/broker?sslmode=disable")
	_, err := app.New(context.Background(), app.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || err.Error() != "database does not answer at BROKER_DATABASE_URL: connection refused" {
		t.Fatalf("err = %v", err)
	}
}

// The token API lives outside the browser middleware but is still counted in
// /metrics by route, and answers with a request ID and the security headers
// of a machine answer. With BROKER_METRICS_TOKEN, /metrics on the public
// listener asks for it.
func TestAPIRequestsAreObserved(t *testing.T) {
	cfg := testConfig(t, testdb.New(t))
	cfg.MetricsToken = strings.Repeat("m3tr1cs", 6)
	var logs syncBuffer
	a, err := app.New(context.Background(), app.Options{Config: cfg, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := httptest.NewServer(a.Handler)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/connections/00000000-0000-0000-0000-000000000000/token")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get("X-Request-ID")
	if resp.StatusCode != http.StatusUnauthorized || len(id) != 24 {
		t.Fatalf("status %d, request id %q", resp.StatusCode, id)
	}
	wantMachineHeaders(t, "token API", resp)
	// A plain ID from a proxy in front is kept; each answer is one access
	// log line (failures at info) with the route pattern, never an ID in it.
	for path, route := range map[string]string{
		"/api/v1/connections/00000000-0000-0000-0000-000000000001/token": "/api/v1/connections/{id}/token",
		"/api/v1/connections/00000000-0000-0000-0000-000000000001":       "/api/v1/connections/{id}",
		"/api/v1/no/such/path": "/api/v1/*", // chi's not-found under the mount
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("X-Request-ID", "proxy-abc.123")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Request-ID"); got != "proxy-abc.123" {
			t.Fatalf("%s: request id %q, want the proxy's", path, got)
		}
		want := fmt.Sprintf(`"msg":"api request","method":"GET","route":%q,"path":%q,"status":%d,`, route, path, resp.StatusCode)
		if line := logs.lineWith(want); !strings.Contains(line, `"request_id":"proxy-abc.123"`) {
			t.Fatalf("no access log line %s with the request id in:\n%s", want, logs.String())
		}
	}
	if !strings.Contains(logs.String(), `"request_id":"`+id+`"`) {
		t.Fatalf("the generated request id %s is not in the log:\n%s", id, logs.String())
	}
	for _, auth := range []string{"", "Bearer wrong", "Basic " + cfg.MetricsToken} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("/metrics with %q: %d, want 401", auth, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+cfg.MetricsToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	wantMachineHeaders(t, "/metrics", resp)
	for _, want := range []string{
		`broker_http_requests_total{method="GET",route="/api/v1/connections/{id}/token",status="4xx"} 2`,
		`broker_http_requests_total{method="GET",route="/api/v1/connections/{id}",status="4xx"} 1`,
		`broker_http_requests_total{method="GET",route="/api/v1/*",status="4xx"} 1`,
		`broker_http_request_duration_seconds_count{method="GET",route="/api/v1/connections/{id}/token",status="4xx"} 2`,
	} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("/metrics lacks %s", want)
		}
	}
}

// syncBuffer is a log destination the server's goroutines write while the
// test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lineWith is the first line containing s, or "".
func (b *syncBuffer) lineWith(s string) string {
	for line := range strings.Lines(b.String()) {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}

// /api/v1/ paths go straight to the API only when clean: the others get
// the redirect (307) to their clean form net/http's mux has always answered.
func TestAPIPathsCleanedAsBefore(t *testing.T) {
	a, err := app.New(context.Background(), app.Options{Config: testConfig(t, testdb.New(t)), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := httptest.NewServer(a.Handler)
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]string{
		"/api/v1/openapi.json":             "200",
		"/api/v1/./openapi.json":           "307 /api/v1/openapi.json",
		"/api/v1//openapi.json":            "307 /api/v1/openapi.json",
		"/api/v1/x/../openapi.json":        "307 /api/v1/openapi.json",
		"/api/v1/connections/":             "404",
		"/api/v1/connections/a/b/../token": "307 /api/v1/connections/a/token",
		"/api/v1":                          "307 /api/v1/",
	} {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := strconv.Itoa(resp.StatusCode)
		if loc := resp.Header.Get("Location"); loc != "" {
			got += " " + loc
		}
		if got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
}

// The demo seeds a tenant, an admin, a working connection and a key that
// fetches its token from the simulation; seeding twice (a restart) is fine.
func TestDemoSeedFetchesAToken(t *testing.T) {
	sim := mssim.New(mssim.Options{})
	ms := httptest.NewServer(sim.Handler())
	defer ms.Close()
	cfg := testConfig(t, testdb.New(t))
	cfg.Demo, cfg.MicrosoftLoginURL, cfg.MicrosoftGraphURL = true, ms.URL, ms.URL
	mssim.SeedDemo(sim, mssim.DemoConfig{RedirectURIs: []string{cfg.RedirectURL()}})
	a, err := app.New(context.Background(), app.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	first, err := app.SeedDemo(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := app.SeedDemo(context.Background(), a)
	if err != nil {
		t.Fatalf("second seed: %v", err)
	}
	srv := httptest.NewServer(a.Handler)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/connections/"+seed.ConnectionID+"/token", nil)
	req.Header.Set("Authorization", "Bearer "+seed.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"scope":"https://graph.microsoft.com/.default"`) {
		t.Fatalf("token fetch: %d %s", resp.StatusCode, body)
	}
	if n := sim.Count(mssim.EndpointToken, "client_credentials"); n != 1 {
		t.Fatalf("%d client credentials requests, want 1", n)
	}
	// The key the first start printed was revoked by the second.
	keys, err := a.Store.ListAPIKeys(context.Background(), seed.TenantID)
	if err != nil || len(keys) != 2 || first.APIKey == seed.APIKey {
		t.Fatalf("keys %d, %v", len(keys), err)
	}
	for _, k := range keys {
		if (k.RevokedAt != nil) != (k.Prefix != seed.APIKey[:len(k.Prefix)]) {
			t.Fatalf("key %s revoked=%v", k.Prefix, k.RevokedAt != nil)
		}
	}
}

// With BROKER_METRICS_ADDR, /metrics leaves the public listener for its own.
func TestMetricsOnTheirOwnAddress(t *testing.T) {
	cfg := testConfig(t, testdb.New(t))
	ml, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.MetricsAddr = ml.Addr().String()
	ml.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, app.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	addrc := make(chan net.Addr, 1)
	go a.Serve(ctx, cfg.ListenAddr, func(ad net.Addr) { addrc <- ad })
	base := "http://" + (<-addrc).String()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("public /metrics = %d, want 404", resp.StatusCode)
	}
	resp, err = http.Get("http://" + cfg.MetricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "go_goroutines") {
		t.Fatalf("metrics address: %d", resp.StatusCode)
	}
	wantMachineHeaders(t, "/metrics on its own address", resp)
}

// wantMachineHeaders: an answer for programs is never sniffed into HTML,
// framed or cached.
func wantMachineHeaders(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
		"Cache-Control": "no-store", "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'"} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %s is %q, want %q", what, k, got, v)
		}
	}
}

// A request body sent one byte at a time is cut off at the read timeout:
// the connection is not held forever (the review's trickle, one byte every
// 2 s, was). A request sent in time is served as before, however long the
// connection then stays open.
func TestSlowBodyTimesOut(t *testing.T) {
	cfg := testConfig(t, testdb.New(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const readTimeout = time.Second
	a, err := app.New(ctx, app.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), ReadTimeout: readTimeout})
	if err != nil {
		t.Fatal(err)
	}
	addrc := make(chan net.Addr, 1)
	go a.Serve(ctx, cfg.ListenAddr, func(ad net.Addr) { addrc <- ad })
	addr := (<-addrc).String()
	for _, path := range []string{"/login", "/api/v1/admin/connections/x/test"} {
		status, took := trickle(t, addr, path, 10*time.Second)
		t.Logf("POST %s trickled: %q after %v (read timeout %v)", path, status, took.Round(time.Millisecond), readTimeout)
		if status == "still open" || took > readTimeout+2*time.Second {
			t.Fatalf("POST %s trickled: %q after %v", path, status, took)
		}
	}
	// On one connection: a request, a pause longer than the read timeout, another.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	for i := range 2 {
		if i == 1 {
			time.Sleep(readTimeout + 500*time.Millisecond)
		}
		io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: "+addr+"\r\n\r\n")
		res, err := http.ReadResponse(r, nil)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("request %d on a kept-alive connection: %v %v", i+1, res, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
}

// trickle sends a POST whose body comes one byte every 100ms and returns
// the status line the server answered with ("closed" if it hung up) and
// when, or "still open" after limit.
func trickle(t *testing.T, addr, path string, limit time.Duration) (string, time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, "POST "+path+" HTTP/1.1\r\nHost: "+addr+
		"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	answered := make(chan string, 1)
	go func() {
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil && line == "" {
			line = "closed"
		}
		answered <- strings.TrimSpace(line)
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for time.Since(start) < limit {
		select {
		case s := <-answered:
			return s, time.Since(start)
		case <-tick.C:
			conn.Write([]byte("a"))
		}
	}
	return "still open", time.Since(start)
}
