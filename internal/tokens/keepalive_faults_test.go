package tokens_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

// defaultDue is the keep-alive's default policy, as a replica claims with it.
func defaultDue(now time.Time) store.DuePolicy {
	return store.DuePolicy{Now: now, UsedWithin: time.Hour, ExpiresWithin: 10 * time.Minute,
		IdleAfter: 14 * 24 * time.Hour, SecretWarning: tokens.SecretWarning}
}

// A replica that claimed a batch and died holds its leases until they run
// out: the others skip those rows meanwhile, then take and refresh each once.
func TestKeepAliveTakesOverTheLeasesOfADeadReplica(t *testing.T) {
	e := newEnv(t)
	for i := range 6 {
		e.conn(t, tokenstest.Conn{Name: fmt.Sprintf("mailbox-%d", i)})
	}
	e.ms.Sim.Advance(15 * 24 * time.Hour)
	ctx := context.Background()
	_, deadStore := e.replicaStore(t, e.ms.Provider(), tokens.Options{})
	claimed, err := deadStore.ClaimDueConnections(ctx, defaultDue(e.ms.Sim.Now()), 16, store.Lease{Length: 1500 * time.Millisecond},
		func(store.Connection, store.Credentials, store.RefreshState) (*store.TokenWrite, bool, error) {
			return nil, true, nil
		})
	if err != nil || len(claimed) != 6 {
		t.Fatalf("the replica about to die claimed %d, %v", len(claimed), err)
	}
	leasedAt := time.Now()
	deadStore.Close() // it dies holding them
	ka := e.replica(t, tokens.Options{}).KeepAlive(tokens.KeepAliveOptions{})
	if n, err := ka.RunOnce(ctx); err != nil || n != 0 || e.refreshes() != 0 {
		t.Fatalf("while leased: handled %d, %d refreshes, %v", n, e.refreshes(), err)
	}
	time.Sleep(time.Until(leasedAt.Add(1600 * time.Millisecond)))
	if n, err := ka.RunOnce(ctx); err != nil || n != 6 || e.refreshes() != 6 {
		t.Fatalf("after the leases ran out: handled %d, %d refreshes, %v; want 6 each", n, e.refreshes(), err)
	}
}

// Microsoft throttles (429, Retry-After): the row is not asked for again
// before the Retry-After, by this scan or the next, and is refreshed after.
func TestKeepAliveWaitsOutRetryAfter(t *testing.T) {
	e := newEnv(t)
	c := e.conn(t, tokenstest.Conn{})
	e.ms.Sim.Advance(15 * 24 * time.Hour)
	e.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, Status: 429, RetryAfter: 30 * time.Second, Times: 1})
	ka := e.replica(t, tokens.Options{}).KeepAlive(tokens.KeepAliveOptions{})
	ctx := context.Background()
	if n, err := ka.RunOnce(ctx); err != nil || n != 1 || e.refreshes() != 1 {
		t.Fatalf("throttled scan: handled %d, %d asked, %v", n, e.refreshes(), err)
	}
	e.ms.Sim.Advance(20 * time.Second)
	if n, err := ka.RunOnce(ctx); err != nil || n != 0 || e.refreshes() != 1 {
		t.Fatalf("inside the Retry-After: handled %d, %d asked, %v", n, e.refreshes(), err)
	}
	e.ms.Sim.Advance(11 * time.Second)
	if n, err := ka.RunOnce(ctx); err != nil || n != 1 || e.refreshes() != 2 {
		t.Fatalf("after the Retry-After: handled %d, %d asked, %v", n, e.refreshes(), err)
	}
	if stored, _ := e.stored(t, c.ID); stored.Status != "active" || stored.LastRefreshAt == nil ||
		stored.LastRefreshAt.Before(e.ms.Sim.Now().Add(-time.Minute)) {
		t.Fatalf("status %s, last refresh %v", stored.Status, stored.LastRefreshAt)
	}
}

// Postgres goes away while a batch's refreshes are at Microsoft: each
// finish waits for it under its lease, so every token Microsoft issued is
// stored, and no row is refreshed twice (the strict simulation fails the
// test if a refresh token is presented again).
func TestKeepAliveSurvivesPostgresGoingAwayMidBatch(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for i := range 8 {
		ids = append(ids, e.conn(t, tokenstest.Conn{Name: fmt.Sprintf("mailbox-%d", i)}).ID)
	}
	e.ms.Sim.Advance(15 * 24 * time.Hour)
	proxied, outage := testdb.WithOutage(t, e.url)
	st := testdb.OpenStore(t, proxied, store.Options{MaxConns: 8})
	svc := tokens.New(st, e.ms.Provider(), tokens.Options{Now: e.ms.Sim.Now, Logger: slog.New(slog.DiscardHandler), BackoffBase: 50 * time.Millisecond,
		BackoffMax: 200 * time.Millisecond})
	t.Cleanup(svc.Close)
	ka := svc.KeepAlive(tokens.KeepAliveOptions{Concurrency: 8})
	e.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, Latency: 400 * time.Millisecond})
	ctx := context.Background()
	type result struct {
		n   int
		err error
	}
	first := make(chan result, 1)
	go func() {
		n, err := ka.RunOnce(ctx)
		first <- result{n, err}
	}()
	time.Sleep(200 * time.Millisecond) // claimed, at Microsoft
	outage.Cut()
	time.Sleep(time.Second)
	outage.Restore()
	r := <-first
	t.Logf("the scan across the outage: handled %d, %v", r.n, r.err)
	handled := r.n
	for range 5 {
		n, err := ka.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		handled += n
		if n == 0 {
			break
		}
	}
	if e.refreshes() != 8 || handled < 8 {
		t.Fatalf("%d refreshes, %d handled; want each of the 8 refreshed once", e.refreshes(), handled)
	}
	for _, id := range ids {
		c, _ := e.stored(t, id)
		if c.LastRefreshAt == nil || c.LastRefreshAt.Before(e.ms.Sim.Now().Add(-time.Minute)) || c.Status != "active" {
			t.Fatalf("%s: last refresh %v, status %s", c.Name, c.LastRefreshAt, c.Status)
		}
	}
}
