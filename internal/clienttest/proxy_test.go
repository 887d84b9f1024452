package clienttest

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	brokerclient "github.com/brokerhq/broker/client"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

// getJSON fetches a Graph path through the client's proxied *http.Client.
func getJSON(t *testing.T, e *env, connID, path string, out any) int {
	t.Helper()
	resp, err := e.client.HTTPClient(connID).Get("https://graph.microsoft.com" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// A 50 MB attachment through HTTPClient arrives intact while this process
// (client, broker and simulated Graph alike) keeps a flat heap.
func TestHTTPClientStreams50MB(t *testing.T) {
	const size = 50 << 20
	e := newEnv(t)
	c := e.conn(t, tokenstest.Conn{})
	e.ms.Sim.SetAttachmentSize(size)
	var msgs struct{ Value []struct{ ID string } }
	if s := getJSON(t, e, c.ID, "/v1.0/me/messages", &msgs); s != 200 || len(msgs.Value) == 0 {
		t.Fatalf("messages: %d", s)
	}
	var atts struct{ Value []struct{ ID string } }
	if s := getJSON(t, e, c.ID, "/v1.0/me/messages/"+msgs.Value[0].ID+"/attachments", &atts); s != 200 || len(atts.Value) != 1 {
		t.Fatalf("attachments: %d", s)
	}
	want := sha256.New()
	io.Copy(want, mssim.AttachmentReader(size))

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak, allocBefore := ms.HeapAlloc, ms.HeapAlloc, ms.TotalAlloc
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
	}()
	start := time.Now()
	resp, err := e.client.HTTPClient(c.ID).Get("https://graph.microsoft.com/v1.0/me/messages/" + msgs.Value[0].ID +
		"/attachments/" + atts.Value[0].ID + "/$value")
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	n, err := io.Copy(got, resp.Body)
	resp.Body.Close()
	close(stop)
	<-done
	runtime.ReadMemStats(&ms)
	allocated := ms.TotalAlloc - allocBefore
	if err != nil || resp.StatusCode != 200 || n != size || string(got.Sum(nil)) != string(want.Sum(nil)) {
		t.Fatalf("download: %d, %d bytes, %v", resp.StatusCode, n, err)
	}
	growth := int64(peak) - int64(base)
	t.Logf("50 MB through the client and the proxy in %v; peak heap growth %.2f MB; %.1f MB allocated in all (client, broker and Graph)",
		time.Since(start).Round(time.Millisecond), float64(growth)/(1<<20), float64(allocated)/(1<<20))
	if growth > 8<<20 {
		t.Fatalf("heap grew %d bytes for a 50 MB download: something buffers", growth)
	}
}

// Graph rejecting a revoked token: the broker refreshes once and retries;
// the client's caller sees only the 200.
func TestHTTPClientRefreshRetry(t *testing.T) {
	e := newEnv(t)
	c := e.conn(t, tokenstest.Conn{})
	if s := getJSON(t, e, c.ID, "/v1.0/me/messages", nil); s != 200 {
		t.Fatalf("warm-up: %d", s)
	}
	e.ms.Sim.Advance(11 * time.Second) // past the forced-refresh cooldown
	e.ms.Sim.RevokeAccessTokens(e.ms.Demo.Adele.UPN)
	refreshes, graphCalls := e.ms.Sim.Count(mssim.EndpointToken, "refresh_token"), e.ms.Sim.Count(mssim.EndpointGraph, "messages")
	if s := getJSON(t, e, c.ID, "/v1.0/me/messages", nil); s != 200 {
		t.Fatalf("after revocation: %d", s)
	}
	if r, g := e.ms.Sim.Count(mssim.EndpointToken, "refresh_token")-refreshes, e.ms.Sim.Count(mssim.EndpointGraph, "messages")-graphCalls; r != 1 || g != 2 {
		t.Fatalf("%d refreshes and %d Graph calls, want 1 and 2", r, g)
	}
}

// Graph's 429 reaches the client with Retry-After; RetryThrottled has the
// broker wait it out.
func TestHTTPClientThrottling(t *testing.T) {
	e := newEnv(t)
	c := e.conn(t, tokenstest.Conn{})
	e.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointGraph, Grant: "messages", Status: 429, RetryAfter: 5 * time.Second, Times: 1})
	resp, err := e.client.HTTPClient(c.ID).Get("https://graph.microsoft.com/v1.0/me/messages")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "5" || !strings.Contains(string(body), "TooManyRequests") {
		t.Fatalf("429: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	e.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointGraph, Grant: "messages", Status: 429, RetryAfter: time.Second, Times: 1})
	resp, err = e.client.HTTPClient(c.ID, brokerclient.RetryThrottled()).Get("https://graph.microsoft.com/v1.0/me/messages")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("RetryThrottled: %d", resp.StatusCode)
	}
	// The broker's metrics saw both throttles and the two answers.
	req, _ := http.NewRequest("GET", e.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`broker_graph_proxy_throttled_total{by="graph"} 2`, `broker_graph_proxy_requests_total{status="2xx"} 1`,
		`broker_graph_proxy_requests_total{status="4xx"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// Connections walks every page of the list.
func TestConnectionsIterates(t *testing.T) {
	e := newEnv(t)
	made := map[string]bool{}
	for _, name := range []string{"a", "b", "c"} {
		made[e.conn(t, tokenstest.Conn{Name: name, Status: "pending"}).ID] = true
	}
	n := 0
	for conn, err := range e.client.Connections(context.Background(), brokerclient.Filter{PageSize: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		if !made[conn.ID] || conn.Status != "pending" || conn.Project != "Sales" {
			t.Fatalf("unexpected %+v", conn)
		}
		n++
	}
	if n != 3 {
		t.Fatalf("iterated %d connections, want 3", n)
	}
	for _, err := range brokerclient.New(e.url, "brk_wrong").Connections(context.Background(), brokerclient.Filter{}) {
		var be *brokerclient.Error
		if !errors.As(err, &be) || be.Code != "unauthorized" {
			t.Fatalf("bad key: %v", err)
		}
	}
}
