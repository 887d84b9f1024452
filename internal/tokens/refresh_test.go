package tokens_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

// fetchAll runs n callers at once, spread over the services, and returns
// the tokens they got.
func fetchAll(t *testing.T, n int, svcs []*tokens.Service, tenantID, connID string) []string {
	t.Helper()
	return fetchAllCtx(t, context.Background(), n, svcs, tenantID, connID)
}

func fetchAllCtx(t *testing.T, ctx context.Context, n int, svcs []*tokens.Service, tenantID, connID string) []string {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	got := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			tok, err := svcs[i%len(svcs)].Token(ctx, tenantID, connID, tokens.Request{MinTTL: 5 * time.Minute})
			got[i], errs[i] = tok.AccessToken, err
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	return got
}

func allSame(t *testing.T, got []string, old string) {
	t.Helper()
	for i, tok := range got {
		if tok != got[0] || tok == "" || tok == old {
			t.Fatalf("caller %d got a different, empty or stale token", i)
		}
	}
}

func TestFiveHundredCallersOneRefresh(t *testing.T) {
	e := newEnv(t)
	c := e.conn(t, tokenstest.Conn{Expired: true})
	_, before := e.stored(t, c.ID)
	e.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, Latency: 50 * time.Millisecond})
	svc := e.replica(t, tokens.Options{})
	got := fetchAll(t, 500, []*tokens.Service{svc}, e.tenant.ID, c.ID)
	allSame(t, got, before.AccessToken)
	if n := e.refreshes(); n != 1 {
		t.Fatalf("%d refreshes reached Microsoft for 500 callers, want 1", n)
	}
	// Stored with the new refresh token, in one transaction.
	after, cr := e.stored(t, c.ID)
	if cr.AccessToken != got[0] || cr.RefreshToken == before.RefreshToken || after.LastRefreshAt == nil || after.Status != "active" {
		t.Fatalf("stored: status %s, same token %v, new refresh token %v", after.Status, cr.AccessToken == got[0],
			cr.RefreshToken != before.RefreshToken)
	}
}

func TestThreeReplicasOneRefresh(t *testing.T) {
	e := newEnv(t)
	c := e.conn(t, tokenstest.Conn{Expired: true})
	_, before := e.stored(t, c.ID)
	e.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, Latency: 50 * time.Millisecond})
	svcs := []*tokens.Service{e.replica(t, tokens.Options{}), e.replica(t, tokens.Options{}), e.replica(t, tokens.Options{})}
	got := fetchAll(t, 500, svcs, e.tenant.ID, c.ID)
	allSame(t, got, before.AccessToken)
	if n := e.refreshes(); n != 1 {
		t.Fatalf("%d refreshes reached Microsoft for 500 callers on 3 replicas, want 1", n)
	}
}

// A replica holding the lease for a refresh stops, is killed or freezes
// while Microsoft "answers": another replica must get through within a time
// bounded by the lease (which scales with the attempt timeout), refresh
// exactly once, and leave the connection alive; the reuse guard fails the
// test if any refresh token is presented twice.
func TestHolderKilledMidRefreshDoesNotBlockOthers(t *testing.T) {
	const attempt = time.Second // lease: 1s×3/2 + 1s = 2.5s
	for _, tc := range []struct {
		name      string
		honourCtx bool
		forward   bool
		within    time.Duration // the other replica's answer, from the kill
		kill      func(holder *tokens.Service, st *store.Store)
	}{
		{name: "holder stops (context cancelled, lease released)", honourCtx: true, within: time.Second,
			kill: func(holder *tokens.Service, _ *store.Store) { holder.Close() }},
		{name: "holder killed (context cancelled, database connection dropped)", honourCtx: true, within: 3500 * time.Millisecond,
			kill: func(holder *tokens.Service, st *store.Store) { st.Close(); holder.Close() }},
		{name: "holder frozen past its lease, then wakes", forward: true, within: 3500 * time.Millisecond,
			kill: func(*tokens.Service, *store.Store) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			c := e.conn(t, tokenstest.Conn{Expired: true})
			g := newGate(tc.honourCtx)
			g.forward = tc.forward
			holder, holderStore := e.replicaStore(t, e.gatedProvider(g), tokens.Options{AttemptTimeout: attempt})
			others := []*tokens.Service{e.replica(t, tokens.Options{AttemptTimeout: attempt}), e.replica(t, tokens.Options{AttemptTimeout: attempt})}
			holderDone := make(chan error, 1)
			go func() {
				_, err := holder.Token(context.Background(), e.tenant.ID, c.ID, tokens.Request{})
				holderDone <- err
			}()
			<-g.entered // the holder has the lease and is "talking to Microsoft"
			start := time.Now()
			tc.kill(holder, holderStore)
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			got := fetchAllCtx(t, ctx, 100, others, e.tenant.ID, c.ID)
			took := time.Since(start)
			close(g.release)
			<-holderDone
			allSame(t, got, "")
			if took > tc.within || e.refreshes() != 1 {
				t.Fatalf("others answered after %s (want within %s); %d refreshes reached Microsoft, want 1", took, tc.within, e.refreshes())
			}
			if _, cr := e.stored(t, c.ID); cr.AccessToken != got[0] {
				t.Fatal("the stored token is not the one served")
			}
			// The connection is alive: its stored refresh token works.
			e.ms.Sim.Advance(time.Minute)
			if _, err := others[0].Token(ctx, e.tenant.ID, c.ID, tokens.Request{ForceRefresh: true}); err != nil || e.refreshes() != 2 {
				t.Fatalf("forced refresh after: %v, %d refreshes", err, e.refreshes())
			}
			t.Logf("others served after %s", took.Round(time.Millisecond))
		})
	}
}

// A caller waits for another replica's refresh no longer than its deadline.
func TestWaitForLockIsBoundedByTheCallersDeadline(t *testing.T) {
	e := newEnv(t)
	c := e.conn(t, tokenstest.Conn{Expired: true})
	g := newGate(true)
	holder := e.replicaWith(t, e.gatedProvider(g), tokens.Options{})
	go holder.Token(context.Background(), e.tenant.ID, c.ID, tokens.Request{})
	<-g.entered
	defer close(g.release)
	other := e.replica(t, tokens.Options{})
	_, err := other.Token(context.Background(), e.tenant.ID, c.ID, tokens.Request{Wait: 200 * time.Millisecond})
	if te := wantCode(t, err, tokens.CodeUnavailable); te.RetryAfter <= 0 {
		t.Fatalf("no Retry-After: %+v", te)
	}
}

// Microsoft answered, then the database connections dropped: the result
// is still stored (the write is retried while the lease stands), with one
// refresh at Microsoft.
func TestStoreFailureAfterMicrosoftAnsweredIsRetried(t *testing.T) {
	e := newEnv(t)
	c := e.conn(t, tokenstest.Conn{Expired: true})
	e.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, Grant: "refresh_token", Latency: time.Second, Times: 1})
	svc := e.replica(t, tokens.Options{})
	done := make(chan error, 1)
	var tok tokens.Token
	go func() {
		var err error
		tok, err = svc.Token(context.Background(), e.tenant.ID, c.ID, tokens.Request{})
		done <- err
	}()
	for e.refreshes() == 0 {
		time.Sleep(time.Millisecond) // until the request reached Microsoft, which takes a second to answer
	}
	if n := dropConnections(t, e.url); n == 0 {
		t.Fatal("no connection to drop")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := e.refreshes(); n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}
	stored, cr := e.stored(t, c.ID)
	if stored.Status != "active" || cr.AccessToken != tok.AccessToken {
		t.Fatalf("status %s; stored token is the served one: %v", stored.Status, cr.AccessToken == tok.AccessToken)
	}
	// The stored refresh token works (past the forced-refresh cooldown).
	e.ms.Sim.Advance(time.Minute)
	if _, err := svc.Token(context.Background(), e.tenant.ID, c.ID, tokens.Request{ForceRefresh: true}); err != nil {
		t.Fatal(err)
	}
	if n := e.refreshes(); n != 2 {
		t.Fatalf("%d refreshes after a forced one, want 2", n)
	}
}

func TestForcedRefreshGetsANewTokenOnce(t *testing.T) {
	e := newEnv(t)
	c := e.conn(t, tokenstest.Conn{})
	svc := e.replica(t, tokens.Options{})
	ctx := context.Background()
	first, err := svc.Token(ctx, e.tenant.ID, c.ID, tokens.Request{})
	if err != nil || first.Refreshed || e.refreshes() != 0 {
		t.Fatalf("first fetch: refreshed %v, %d refreshes, %v", first.Refreshed, e.refreshes(), err)
	}
	forced, err := svc.Token(ctx, e.tenant.ID, c.ID, tokens.Request{ForceRefresh: true})
	if err != nil || !forced.Refreshed || forced.AccessToken == first.AccessToken || e.refreshes() != 1 {
		t.Fatalf("forced: refreshed %v, same %v, %d refreshes, %v", forced.Refreshed, forced.AccessToken == first.AccessToken, e.refreshes(), err)
	}
	// Another forced refresh right after, from another replica: the one just made is as new as it gets.
	again, err := e.replica(t, tokens.Options{}).Token(ctx, e.tenant.ID, c.ID, tokens.Request{ForceRefresh: true})
	if err != nil || again.AccessToken != forced.AccessToken || e.refreshes() != 1 {
		t.Fatalf("second forced: same %v, %d refreshes, %v", again.AccessToken == forced.AccessToken, e.refreshes(), err)
	}
	e.ms.Sim.Advance(11 * time.Second)
	later, err := svc.Token(ctx, e.tenant.ID, c.ID, tokens.Request{ForceRefresh: true})
	if err != nil || later.AccessToken == forced.AccessToken || e.refreshes() != 2 {
		t.Fatalf("forced after the cooldown: new %v, %d refreshes, %v", later.AccessToken != forced.AccessToken, e.refreshes(), err)
	}
}

// Tokens about to run low are refreshed in the background; the caller is
// served at once from memory.
func TestRefreshAhead(t *testing.T) {
	e := newEnv(t)
	c := e.conn(t, tokenstest.Conn{})
	svc := e.replica(t, tokens.Options{})
	ctx := context.Background()
	first, err := svc.Token(ctx, e.tenant.ID, c.ID, tokens.Request{})
	if err != nil {
		t.Fatal(err)
	}
	e.ms.Sim.Advance(time.Until(first.ExpiresAt) - 8*time.Minute) // 8 minutes left: inside RefreshAhead
	low, err := svc.Token(ctx, e.tenant.ID, c.ID, tokens.Request{MinTTL: time.Minute})
	if err != nil || low.AccessToken != first.AccessToken || low.Refreshed {
		t.Fatalf("low token not served from memory: %v", err)
	}
	for svc.Stats().Refreshed == 0 {
		time.Sleep(5 * time.Millisecond) // the background refresh; the test's own timeout bounds this
	}
	next, err := svc.Token(ctx, e.tenant.ID, c.ID, tokens.Request{MinTTL: 30 * time.Minute})
	if err != nil || next.AccessToken == first.AccessToken || next.Refreshed || e.refreshes() != 1 {
		t.Fatalf("after refresh ahead: new %v, %d refreshes, %v", next.AccessToken != first.AccessToken, e.refreshes(), err)
	}
}
