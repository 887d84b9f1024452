package tokens_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

// Refreshing idle grants every two weeks keeps them alive past Microsoft's
// 90 days of inactivity (a connection left alone dies of AADSTS700082:
// see TestPermanentRefusalsSetStatusAndStopRefreshing).
func TestKeepAliveKeepsIdleGrantsAlive(t *testing.T) {
	e := newEnv(t)
	c := e.conn(t, tokenstest.Conn{})
	svc := e.replica(t, tokens.Options{})
	ka := svc.KeepAlive(tokens.KeepAliveOptions{})
	ctx := context.Background()
	if n, err := ka.RunOnce(ctx); err != nil || n != 0 {
		t.Fatalf("fresh connection handled %d, %v", n, err)
	}
	for day := 15; day <= 120; day += 15 {
		e.ms.Sim.Advance(15 * 24 * time.Hour)
		if n, err := ka.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("day %d: handled %d, %v", day, n, err)
		}
		if n, _ := ka.RunOnce(ctx); n != 0 {
			t.Fatalf("day %d: handled again right after", day)
		}
	}
	if n := e.refreshes(); n != 8 {
		t.Fatalf("%d refreshes over 120 days, want 8", n)
	}
	if _, err := svc.Token(ctx, e.tenant.ID, c.ID, tokens.Request{ForceRefresh: true}); err != nil {
		t.Fatalf("after 120 days: %v", err)
	}
}

// Connections in use get a new token before callers would have to wait.
func TestKeepAliveRefreshesTokensInUse(t *testing.T) {
	e := newEnv(t)
	c := e.conn(t, tokenstest.Conn{})
	idle := e.conn(t, tokenstest.Conn{Name: "idle"})
	svc := e.replica(t, tokens.Options{RefreshAhead: time.Second})
	ka := svc.KeepAlive(tokens.KeepAliveOptions{})
	ctx := context.Background()
	first, err := svc.Token(ctx, e.tenant.ID, c.ID, tokens.Request{})
	if err != nil {
		t.Fatal(err)
	}
	e.ms.Sim.Advance(first.ExpiresAt.Sub(e.ms.Sim.Now()) - 5*time.Minute)
	if _, err := svc.Token(ctx, e.tenant.ID, c.ID, tokens.Request{MinTTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	svc.TouchOnce(ctx)
	if n, err := ka.RunOnce(ctx); err != nil || n != 1 || e.refreshes() != 1 {
		t.Fatalf("handled %d, %d refreshes, %v; want 1 (not the idle connection %s)", n, e.refreshes(), err, idle.ID)
	}
	next, err := svc.Token(ctx, e.tenant.ID, c.ID, tokens.Request{MinTTL: 30 * time.Minute})
	if err != nil || next.AccessToken == first.AccessToken || next.Refreshed || e.refreshes() != 1 {
		t.Fatalf("after keep-alive: new %v, refreshed here %v, %d refreshes, %v", next.AccessToken != first.AccessToken,
			next.Refreshed, e.refreshes(), err)
	}
}

func TestKeepAliveFlagsExpiringClientSecrets(t *testing.T) {
	e := newEnv(t)
	soon, later := e.ms.Sim.Now().Add(10*24*time.Hour), e.ms.Sim.Now().Add(30*24*time.Hour)
	expiring := e.conn(t, tokenstest.Conn{Name: "soon", ClientSecret: e.ms.Demo.DaemonApp.Secret, ClientSecretExpiresAt: &soon})
	fine := e.conn(t, tokenstest.Conn{Name: "later", ClientSecret: e.ms.Demo.DaemonApp.Secret, ClientSecretExpiresAt: &later})
	svc := e.replica(t, tokens.Options{})
	ctx := context.Background()
	if n, err := svc.KeepAlive(tokens.KeepAliveOptions{}).RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("handled %d, %v", n, err)
	}
	if e.ms.Sim.Count(mssim.EndpointToken, "") != 0 {
		t.Fatal("flagging a secret asked Microsoft for a token")
	}
	if c, _ := e.stored(t, expiring.ID); c.Status != "secret_expiring" {
		t.Fatalf("status %s", c.Status)
	}
	if c, _ := e.stored(t, fine.ID); c.Status != "active" {
		t.Fatalf("status %s", c.Status)
	}
	tok, err := svc.Token(ctx, e.tenant.ID, expiring.ID, tokens.Request{})
	if err != nil || tok.Conn.Status != "secret_expiring" {
		t.Fatalf("a secret_expiring connection must still serve: %v", err)
	}
}

// Two replicas' workers share the due connections: each refreshed once.
func TestKeepAliveTakesEachConnectionOnce(t *testing.T) {
	e := newEnv(t)
	for i := range 20 {
		e.conn(t, tokenstest.Conn{Name: fmt.Sprintf("mailbox-%d", i)})
	}
	e.ms.Sim.Advance(15 * 24 * time.Hour)
	workers := []*tokens.KeepAlive{
		e.replica(t, tokens.Options{}).KeepAlive(tokens.KeepAliveOptions{Concurrency: 3}),
		e.replica(t, tokens.Options{}).KeepAlive(tokens.KeepAliveOptions{Concurrency: 3}),
	}
	var wg sync.WaitGroup
	handled := make([]int, len(workers))
	for i, w := range workers {
		wg.Go(func() {
			n, err := w.RunOnce(context.Background())
			if err != nil {
				t.Error(err)
			}
			handled[i] = n
		})
	}
	wg.Wait()
	if handled[0]+handled[1] != 20 || e.refreshes() != 20 {
		t.Fatalf("handled %v, %d refreshes; want 20 in all", handled, e.refreshes())
	}
}

// A refresh failing transiently is tried once per scan (one request per
// back-off window), not in a loop, and changes no status.
func TestKeepAliveTriesAFailingConnectionOncePerScan(t *testing.T) {
	e := newEnv(t)
	c := e.conn(t, tokenstest.Conn{})
	e.ms.Sim.Advance(15 * 24 * time.Hour)
	e.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, Status: 503})
	svc := e.replica(t, tokens.Options{BackoffBase: time.Millisecond, MaxAttempts: 2})
	ka := svc.KeepAlive(tokens.KeepAliveOptions{Concurrency: 2})
	for scan := 1; scan <= 2; scan++ {
		e.ms.Sim.Advance(2 * time.Second) // past the recorded Retry-After
		if n, err := ka.RunOnce(context.Background()); err != nil || n != 1 {
			t.Fatalf("scan %d handled %d, %v", scan, n, err)
		}
		if got := e.refreshes(); got != int64(scan) {
			t.Fatalf("after scan %d: %d attempts, want %d", scan, got, scan)
		}
	}
	if stored, _ := e.stored(t, c.ID); stored.Status != "active" {
		t.Fatalf("status %s", stored.Status)
	}
}
