package tokens_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

// Under churn (every poll interval a batch of connections this replica has
// not served before, none of their use written yet) each poll brings the
// cache back under CacheMax: the pending last use is written first, so the
// least recently used can go without losing it.
func TestCacheBoundHoldsUnderChurn(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var ids []string
	for i := range 30 {
		ids = append(ids, e.conn(t, tokenstest.Conn{Name: fmt.Sprintf("mailbox-%d", i)}).ID)
	}
	const max = 10
	svc := e.replica(t, tokens.Options{CacheMax: max})
	for batch := range 3 {
		for _, id := range ids[batch*10 : batch*10+10] {
			e.ms.Sim.Advance(2 * time.Minute) // each use more than touchEvery after the last write
			for range 2 {                     // a miss, then a warm fetch
				if _, err := svc.Token(ctx, e.tenant.ID, id, tokens.Request{}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := svc.PollOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if n := svc.Cached(); n > max {
			t.Fatalf("batch %d: %d cached after the poll, CacheMax %d", batch, n, max)
		}
	}
	if s := svc.Stats(); s.Evicted < 20 {
		t.Fatalf("%d evicted, want at least 20", s.Evicted)
	}
	// Nothing evicted lost its last use: every connection's is written.
	for _, id := range ids {
		c, err := e.st.Connection(ctx, e.tenant.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.LastUsedAt == nil {
			t.Fatalf("%s: last use not written", c.Name)
		}
	}
}
