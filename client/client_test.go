package brokerclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeBroker answers the token and list endpoints the way the broker does;
// the client's tests against the real broker live in the broker's module
// (internal/clienttest), which can start one.
func fakeBroker(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestTokenSourceCachesAndCoalesces(t *testing.T) {
	var calls atomic.Int64
	srv := fakeBroker(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path != "/api/v1/connections/c1/token" || r.URL.Query().Get("min_ttl") != "600" || r.Header.Get("Authorization") != "Bearer brk_test" {
			t.Errorf("request %s %v", r.URL, r.Header)
		}
		time.Sleep(20 * time.Millisecond) // callers pile up meanwhile
		fmt.Fprintf(w, `{"access_token":"at-%d","token_type":"Bearer","expires_in":3600,"scope":"Mail.Read"}`, calls.Load())
	})
	ts := New(srv.URL, "brk_test").TokenSource("c1", MinTTL(10*time.Minute))
	var wg sync.WaitGroup
	for range 1000 {
		wg.Go(func() {
			tok, err := ts.Token()
			if err != nil || tok.AccessToken != "at-1" {
				t.Errorf("Token: %v %v", tok, err)
			}
		})
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d broker calls for 1000 Token calls, want 1", n)
	}
	// Past expiry − MinTTL the next call asks again.
	ts.(*tokenSource).now = func() time.Time { return time.Now().Add(51 * time.Minute) }
	if tok, err := ts.Token(); err != nil || tok.AccessToken != "at-2" || calls.Load() != 2 {
		t.Fatalf("after expiry: %v %v, %d calls", tok, err, calls.Load())
	}
}

func TestErrorIsTyped(t *testing.T) {
	srv := fakeBroker(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(503)
		io.WriteString(w, `{"type":"urn:broker:problem:upstream_unavailable","title":"Microsoft is unavailable","status":503,
			"code":"upstream_unavailable","aadsts":"AADSTS90055","trace_id":"tr-1","retry_after":7}`)
	})
	_, err := New(srv.URL, "brk_test").TokenSource("c1").Token()
	var p *Error
	if !errors.As(err, &p) || p.Code != "upstream_unavailable" || p.AADSTS != "AADSTS90055" || p.TraceID != "tr-1" ||
		p.RetryAfter != 7*time.Second || p.Status != 503 {
		t.Fatalf("*Error: %#v", err)
	}
	v := Error{}
	if !errors.As(err, &v) || v.Code != "upstream_unavailable" {
		t.Fatalf("Error value: %#v", v)
	}
}

func TestHTTPClientGoesThroughTheProxy(t *testing.T) {
	srv := fakeBroker(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer brk_test" || r.Header.Get("Broker-Retry") != "on" {
			t.Errorf("headers %v", r.Header)
		}
		w.Header().Set("Location", "https://elsewhere.example/")
		w.WriteHeader(302)
		io.WriteString(w, r.URL.RequestURI())
	})
	hc := New(srv.URL, "brk_test").HTTPClient("c 1", RetryThrottled())
	resp, err := hc.Get("https://graph.microsoft.com/v1.0/me/messages?$top=5")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 302 || string(body) != "/api/v1/connections/c%201/graph/v1.0/me/messages?$top=5" {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

func TestConnectionsPages(t *testing.T) {
	var pages atomic.Int64
	srv := fakeBroker(t, func(w http.ResponseWriter, r *http.Request) {
		pages.Add(1)
		q := r.URL.Query()
		if q.Get("limit") != "2" || q.Get("status") != "active" {
			t.Errorf("query %v", q)
		}
		var out struct {
			Connections []Connection `json:"connections"`
			NextAfter   string       `json:"next_after,omitempty"`
		}
		switch q.Get("after") {
		case "":
			out.Connections, out.NextAfter = []Connection{{ID: "a"}, {ID: "b"}}, "b"
		case "b":
			out.Connections = []Connection{{ID: "c"}}
		}
		json.NewEncoder(w).Encode(out)
	})
	var ids []string
	for conn, err := range New(srv.URL, "brk_test").Connections(context.Background(), Filter{Status: "active", PageSize: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, conn.ID)
	}
	if fmt.Sprint(ids) != "[a b c]" || pages.Load() != 2 {
		t.Fatalf("%v after %d pages", ids, pages.Load())
	}
}
