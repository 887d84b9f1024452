package tokens_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

// Past CacheMax, a poll writes pending last use, drops the least recently
// used connections and keeps the recent ones warm.
func TestCacheStaysUnderItsBound(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var ids []string
	for i := range 30 {
		ids = append(ids, e.conn(t, tokenstest.Conn{Name: fmt.Sprintf("mailbox-%d", i)}).ID)
	}
	svc := e.replica(t, tokens.Options{CacheMax: 20})
	for _, id := range ids {
		if _, err := svc.Token(ctx, e.tenant.ID, id, tokens.Request{}); err != nil {
			t.Fatal(err)
		}
		e.ms.Sim.Advance(time.Second)
	}
	if n := svc.Cached(); n != 30 {
		t.Fatalf("%d cached before the poll, want 30", n)
	}
	if err := svc.PollOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n, s := svc.Cached(), svc.Stats(); n != 18 || s.Evicted != 12 {
		t.Fatalf("%d cached, %d evicted; want 18 (nine tenths of 20) and 12", n, s.Evicted)
	}
	// The poll wrote their last use before dropping them.
	for _, id := range ids[:12] {
		if c, err := e.st.Connection(ctx, e.tenant.ID, id); err != nil || c.LastUsedAt == nil {
			t.Fatalf("%s: last use not written before eviction (%v)", id, err)
		}
	}
	loads := svc.Stats().Loads
	for _, id := range ids[12:] { // the most recent stay warm
		if _, err := svc.Token(ctx, e.tenant.ID, id, tokens.Request{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := svc.Stats().Loads; got != loads {
		t.Fatalf("%d loads for connections that should be warm", got-loads)
	}
	if _, err := svc.Token(ctx, e.tenant.ID, ids[0], tokens.Request{}); err != nil || svc.Stats().Loads != loads+1 {
		t.Fatalf("the oldest was not read again: %v", err)
	}
}
