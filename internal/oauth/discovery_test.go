package oauth

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The discovery cache: one fetch per authority, a slow authority holds up
// no other, a failure is not kept, and the cache stays bounded.
func TestKeySetCachePerAuthority(t *testing.T) {
	release := make(chan struct{})
	var fetches, bad atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		authority, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		switch {
		case authority == "slow":
			<-release
		case authority == "bad":
			bad.Add(1)
			http.Error(w, `{"error":"invalid_tenant"}`, http.StatusBadRequest)
			return
		}
		fetches.Add(1)
		fmt.Fprintf(w, `{"jwks_uri":%q}`, "http://"+r.Host+"/"+authority+"/discovery/v2.0/keys")
	}))
	defer srv.Close()
	defer close(release)
	m := &Microsoft{LoginBase: srv.URL, HTTPClient: srv.Client()}
	ctx := context.Background()

	go m.keySet(ctx, "slow") // hangs until released
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	for range 3 {
		if _, err := m.keySet(ctx, "contoso.onmicrosoft.com"); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("another authority waited %s behind a slow discovery", took)
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d discovery fetches for one authority asked three times, want 1", n)
	}
	// A caller of the slow authority gives up with its own context.
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := m.keySet(cctx, "slow"); err == nil {
		t.Fatal("a hung discovery answered")
	}

	for range 2 {
		if _, err := m.keySet(ctx, "bad"); err == nil {
			t.Fatal("a failed discovery answered")
		}
	}
	if n := bad.Load(); n != 2 {
		t.Fatalf("a failed discovery was cached: %d fetches for 2 tries", n)
	}

	for i := range maxKeySets + 50 {
		if _, err := m.keySet(ctx, fmt.Sprintf("tenant%d.onmicrosoft.com", i)); err != nil {
			t.Fatal(err)
		}
	}
	m.keys.mu.Lock()
	n := len(m.keys.sets)
	m.keys.mu.Unlock()
	if n > maxKeySets {
		t.Fatalf("%d authorities cached, want at most %d", n, maxKeySets)
	}
}
