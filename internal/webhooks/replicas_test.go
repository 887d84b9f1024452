package webhooks_test

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/webhooks"
)

// TestThreeReplicasDeliverEachAttemptOnce runs three workers, each with its
// own pool, against one database while 1,000 status changes commit, to
// three endpoints. The receiver fails the first attempt of every seventh
// event, so retries race the others too. Every attempt the database counts
// reached the receiver exactly once, every event was delivered once per
// endpoint, and each endpoint got its events in sequence order.
func TestThreeReplicasDeliverEachAttemptOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 events")
	}
	e := newEnv(t)
	rc := newReceiver(t, func(n int, r received) (int, http.Header) {
		if n == 1 && len(r.ID) > 0 && (r.ID[len(r.ID)-1]-'0')%7 == 0 {
			return http.StatusInternalServerError, nil
		}
		return http.StatusNoContent, nil
	})
	var eps []store.WebhookEndpoint
	for _, p := range []string{"/a", "/b", "/c"} {
		ep, _ := e.endpoint(t, rc.srv.URL+p, store.EventConnectionStatusChanged)
		eps = append(eps, ep)
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 3 {
		w := &webhooks.Worker{Store: openStore(t, e.url), Guard: localGuard(), Poll: 50 * time.Millisecond,
			Schedule: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}}
		wg.Go(func() { w.Run(ctx) })
	}
	events := 1000
	if v, err := strconv.Atoi(os.Getenv("WEBHOOK_TEST_EVENTS")); err == nil {
		events = v
	}
	for i := range events {
		if i%2 == 0 {
			e.setStatus(t, "needs_reauth", "AADSTS50173")
		} else {
			e.setStatus(t, "active", "")
		}
	}
	t.Logf("%d status changes committed", events)
	// A generous deadline: the machine is shared; the test measures counts, not speed.
	eventuallyWithin(t, 15*time.Minute, "an empty queue", func() bool {
		time.Sleep(200 * time.Millisecond)
		q, err := e.st.WebhookQueueStats(context.Background(), time.Now())
		if time.Now().Second()%15 == 0 {
			t.Logf("pending %d (%v), received %d", q.Pending, err, len(rc.all()))
		}
		return err == nil && q.Pending == 0
	})
	stop()
	wg.Wait()

	got := rc.all()
	perKey := map[string]int{}
	lastSeq := map[string]int64{}
	for _, r := range got {
		perKey[r.Path+" "+r.ID]++
	}
	attempts, retried := 0, 0
	for i, ep := range eps {
		path := []string{"/a", "/b", "/c"}[i]
		ds := deliveries(t, e.st, e.tenant.ID, ep.ID)
		if len(ds) != events {
			t.Fatalf("%s: %d deliveries, want %d", path, len(ds), events)
		}
		for _, d := range ds {
			attempts += d.Attempts
			if d.Attempts > 1 {
				retried++
			}
			if n := perKey[path+" "+webhooks.EventID(d.EventID)]; n != d.Attempts {
				t.Fatalf("%s event %d: receiver counted %d requests, the database %d attempts", path, d.EventID, n, d.Attempts)
			}
		}
	}
	if attempts != len(got) {
		t.Fatalf("the database counts %d attempts, the receiver %d requests", attempts, len(got))
	}
	if retried == 0 {
		t.Fatal("no delivery was retried: the test did not exercise retries")
	}
	// Order: each endpoint's successful receipts rise by sequence.
	rc.mu.Lock()
	defer rc.mu.Unlock()
	seen := map[string]int{}
	for _, r := range got {
		seen[r.Path+" "+r.ID]++
		env := envelope(t, r.Body)
		if seen[r.Path+" "+r.ID] < perKey[r.Path+" "+r.ID] {
			continue // a failed first attempt
		}
		if env.Sequence <= lastSeq[r.Path] {
			t.Fatalf("%s received sequence %d after %d", r.Path, env.Sequence, lastSeq[r.Path])
		}
		lastSeq[r.Path] = env.Sequence
	}
	t.Logf("%d events × 3 endpoints: %d attempts (%d deliveries retried), each received exactly once", events, attempts, retried)
}
