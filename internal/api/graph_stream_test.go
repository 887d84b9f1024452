package api

import (
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/graphproxy"
	"github.com/brokerhq/broker/internal/oauth/mssim"
)

// A 50 MB attachment streams through the proxy: the bytes arrive intact and
// the process's heap stays flat while they pass (sampled every 2ms).
func TestGraphProxyStreams50MB(t *testing.T) {
	const size = 50 << 20
	g := newGraphEnv(t, graphproxy.Options{})
	g.ms.Sim.SetAttachmentSize(size)
	resp, body := g.do(t, "GET", "/v1.0/me/messages", "", nil)
	var msgs struct{ Value []struct{ ID string } }
	if json.Unmarshal(body, &msgs); resp.StatusCode != 200 || len(msgs.Value) == 0 {
		t.Fatalf("messages: %d %s", resp.StatusCode, body)
	}
	msg := msgs.Value[0].ID
	resp, body = g.do(t, "GET", "/v1.0/me/messages/"+msg+"/attachments", "", nil)
	var atts struct {
		Value []struct {
			ID   string
			Size int64
		}
	}
	if json.Unmarshal(body, &atts); resp.StatusCode != 200 || len(atts.Value) != 1 || atts.Value[0].Size != size {
		t.Fatalf("attachments: %d %s", resp.StatusCode, body)
	}

	want := sha256.New()
	io.Copy(want, mssim.AttachmentReader(size))

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	peak := base
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapAlloc)
			}
		}
	}()
	req, _ := http.NewRequest("GET", g.srv.URL+"/api/v1/connections/"+g.conn.ID+"/graph/v1.0/me/messages/"+msg+
		"/attachments/"+atts.Value[0].ID+"/$value", nil)
	req.Header.Set("Authorization", "Bearer "+g.key)
	start := time.Now()
	resp, err := g.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	n, err := io.Copy(got, resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	close(stop)
	<-sampled
	if err != nil || resp.StatusCode != 200 || n != size || string(got.Sum(nil)) != string(want.Sum(nil)) {
		t.Fatalf("download: %d, %d bytes, %v; content equal: %v", resp.StatusCode, n, err, string(got.Sum(nil)) == string(want.Sum(nil)))
	}
	if resp.Header.Get("Content-Length") != "52428800" || resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("headers: %v", resp.Header)
	}
	growth := int64(peak) - int64(base)
	t.Logf("50 MB through the proxy in %v; heap %0.1f MB before, peak growth %0.2f MB", took.Round(time.Millisecond),
		float64(base)/(1<<20), float64(growth)/(1<<20))
	// Buffering the body anywhere would add at least 50 MB; streaming adds
	// a few 32 KiB buffers per hop and the test's own bookkeeping.
	if growth > 8<<20 {
		t.Fatalf("heap grew %d bytes while 50 MB streamed: something buffers", growth)
	}
}

// Eight concurrent calls for one mailbox: the proxy lets four through at a
// time, so Graph (which throttles the fifth) never sees more than four; with
// a short queue wait the rest get connection_busy with Retry-After.
func TestGraphProxyConcurrencyLimit(t *testing.T) {
	g := newGraphEnv(t, graphproxy.Options{})
	g.do(t, "GET", "/v1.0/me/messages", "", nil) // key, token and policy warm: the eight arrive together
	g.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointGraph, Grant: "messages", Latency: 400 * time.Millisecond})
	statuses := fire(t, 8, func() int {
		resp, _ := g.do(t, "GET", "/v1.0/me/messages", "", nil)
		return resp.StatusCode
	})
	if statuses[200] != 8 {
		t.Fatalf("queued calls: %v", statuses)
	}
	if n := g.ms.Sim.MaxMailboxConcurrency(g.ms.Demo.WebApp.ClientID, g.ms.Demo.Adele.UPN); n != 4 {
		t.Fatalf("Graph saw %d concurrent requests, want 4", n)
	}

	short := newGraphEnv(t, graphproxy.Options{QueueWait: 50 * time.Millisecond})
	short.do(t, "GET", "/v1.0/me/messages", "", nil)
	short.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointGraph, Grant: "messages", Latency: 500 * time.Millisecond})
	var mu sync.Mutex
	var retryAfter []string
	statuses = fire(t, 8, func() int {
		resp, _ := short.do(t, "GET", "/v1.0/me/messages", "", nil)
		if resp.StatusCode == 429 {
			mu.Lock()
			retryAfter = append(retryAfter, resp.Header.Get("Retry-After"))
			mu.Unlock()
		}
		return resp.StatusCode
	})
	if statuses[200] != 4 || statuses[429] != 4 || retryAfter[0] != "1" {
		t.Fatalf("short queue: %v, Retry-After %v", statuses, retryAfter)
	}
}

// fire runs f n times at once and counts the statuses.
func fire(t *testing.T, n int, f func() int) map[int]int {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[int]int{}
	for range n {
		wg.Go(func() {
			s := f()
			mu.Lock()
			out[s]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}
