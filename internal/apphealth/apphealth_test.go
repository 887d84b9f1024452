package apphealth_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/apphealth"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

// The acceptance test of issue 9's own-app failure: 200 authorization-code
// connections; the simulation expires the broker's client secret; a refresh
// wave (keep-alive, then every caller at once) and more keep-alive cycles
// run. The connections keep their status, one condition is raised, and the
// upstream calls while broken are bounded by the back-off, not by the 200.
// The operator fixes the secret; within one keep-alive cycle all 200 refresh.
func TestBrokerAppFailureIsOneConditionAndHealsItself(t *testing.T) {
	const n = 200
	ctx := context.Background()
	ms := tokenstest.StartMicrosoft()
	t.Cleanup(ms.Server.Close)
	st := testdb.OpenStore(t, testdb.New(t), store.Options{MaxConns: 8})
	tenant, err := st.CreateTenant(ctx, "acme", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	project, err := st.CreateProject(ctx, tenant.ID, "Sales")
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	users := []string{ms.Demo.Adele.UPN, ms.Demo.Alex.UPN, ms.Demo.Pat.UPN}
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				c, err := ms.Create(ctx, st, tokenstest.Conn{TenantID: tenant.ID, ProjectID: project.ID,
					Name: fmt.Sprintf("mailbox %03d", i), UPN: users[i%len(users)]})
				if err != nil {
					errs <- err
					return
				}
				ids[i] = c.ID
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	const interval = 30 * time.Second
	mon := apphealth.New(apphealth.Options{Now: ms.Sim.Now, BackoffMax: interval})
	svc := tokens.New(st, &apphealth.Guard{Provider: ms.Provider(), Monitor: mon},
		tokens.Options{Now: ms.Sim.Now, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(svc.Close)
	const concurrency = 8 // the keep-alive's refreshes in flight: its first wave reaches Microsoft before the guard knows
	ka := svc.KeepAlive(tokens.KeepAliveOptions{Interval: interval, IdleAfter: time.Hour, Concurrency: concurrency})

	// The secret expires; two hours later every token has expired and every grant is idle past IdleAfter.
	if err := ms.Sim.ExpireAppSecrets(ms.Demo.WebApp.ClientID); err != nil {
		t.Fatal(err)
	}
	ms.Sim.Advance(2 * time.Hour)
	before := ms.Sim.Count(mssim.EndpointToken, "refresh_token")
	brokenAt := time.Now()

	// The wave: keep-alive finds all 200 due.
	handled, err := ka.RunOnce(ctx)
	if err != nil || handled < n {
		t.Fatalf("keep-alive handled %d (%v), want all %d", handled, err, n)
	}
	afterKeepAlive := ms.Sim.Count(mssim.EndpointToken, "refresh_token") - before
	// Then every caller at once.
	var callerErrs sync.Map
	for _, id := range ids {
		wg.Go(func() {
			_, err := svc.Token(ctx, tenant.ID, id, tokens.Request{Wait: 5 * time.Second})
			callerErrs.Store(id, err)
		})
	}
	wg.Wait()
	for _, id := range ids {
		v, _ := callerErrs.Load(id)
		te, ok := tokens.AsError(v.(error))
		// Retry later, as for any outage at Microsoft; never a status of the connection's own.
		if !ok || te.Code != tokens.CodeUnavailable || te.Status != "" || te.RetryAfter <= 0 {
			t.Fatalf("caller got %v", v)
		}
	}
	// Four more keep-alive cycles while nobody fixes it.
	cycles := 4
	for range cycles {
		ms.Sim.Advance(interval)
		if _, err := ka.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	upstream := ms.Sim.Count(mssim.EndpointToken, "refresh_token") - before
	brokenFor := ms.Sim.Now()
	t.Logf("while broken: %d refresh requests reached Microsoft for %d connections (%d in the keep-alive wave), "+
		"over 1 wave + %d keep-alive cycles of %s and %d callers; paused without a request: %d; took %s",
		upstream, n, afterKeepAlive, cycles, interval, n, mon.Stats().Paused, time.Since(brokenAt).Round(time.Millisecond))
	// The wave's first claims in flight, then one probe per back-off period (at most one per cycle).
	if limit := int64(concurrency + 1 + cycles); upstream > limit {
		t.Fatalf("%d upstream refreshes while broken, want at most %d", upstream, limit)
	}
	cond := mon.Condition()
	if cond == nil || cond.Code != "AADSTS7000222" || cond.Kind != apphealth.SecretExpired || mon.Stats().Conditions != 1 {
		t.Fatalf("condition %+v, raised %d", cond, mon.Stats().Conditions)
	}
	notices := mon.Notices()
	if len(notices) != 1 || notices[0].Level != "error" || !strings.Contains(notices[0].Title, "AADSTS7000222") ||
		!strings.Contains(notices[0].Text, "BROKER_MICROSOFT_CLIENT_SECRET") {
		t.Fatalf("notices %+v", notices)
	}
	if d := mon.Detail(); !strings.Contains(d, "failing AADSTS7000222 (secret_expired)") {
		t.Fatalf("readyz detail %q", d)
	}
	statuses, err := st.CountConnectionsByStatus(ctx, store.ConnectionQuery{TenantID: tenant.ID})
	if err != nil {
		t.Fatal(err)
	}
	if statuses["active"] != n || statuses["config_error"] != 0 {
		t.Fatalf("statuses while broken: %v", statuses)
	}

	// The operator fixes it: the simulation accepts the secret again. No one touches a connection.
	if err := ms.Sim.SetAppSecretsExpiry(ms.Demo.WebApp.ClientID, ms.Sim.Now().AddDate(1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	fixed := ms.Sim.Count(mssim.EndpointToken, "refresh_token")
	ms.Sim.Advance(interval) // one keep-alive cycle
	handled, err = ka.RunOnce(ctx)
	if err != nil || handled < n {
		t.Fatalf("the cycle after the fix handled %d (%v), want all %d", handled, err, n)
	}
	if got := ms.Sim.Count(mssim.EndpointToken, "refresh_token") - fixed; got != n {
		t.Fatalf("%d refreshes after the fix, want %d", got, n)
	}
	for _, id := range ids {
		c, err := st.Connection(ctx, tenant.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != "active" || c.LastRefreshAt == nil || c.LastRefreshAt.Before(brokenFor) {
			t.Fatalf("%s after the fix: %s, refreshed %v", c.Name, c.Status, c.LastRefreshAt)
		}
	}
	if mon.Condition() != nil || len(mon.Notices()) != 0 {
		t.Fatalf("condition still raised: %+v", mon.Condition())
	}
	t.Logf("after the fix: all %d connections refreshed within one keep-alive cycle (%s), condition cleared", n, interval)
}
