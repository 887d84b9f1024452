package webhooks_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/webhooks"
)

func TestDeliverySignedPerStandardWebhooks(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, nil)
	ep, secret := e.endpoint(t, rc.srv.URL+"/hook", store.EventConnectionStatusChanged)
	clock := &fakeClock{t: time.Now().Add(time.Minute).Truncate(time.Second)}
	w := &webhooks.Worker{Store: e.st, Guard: localGuard(), Now: clock.Now}
	e.setStatus(t, "needs_reauth", "AADSTS50173")
	if n, err := w.RunOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("RunOnce: %d %v", n, err)
	}
	got := rc.all()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests", len(got))
	}
	if !verify(secret, got[0], clock.Now()) {
		t.Fatalf("signature %q does not verify", got[0].Signature)
	}
	if verify(webhooks.NewSecret(), got[0], clock.Now()) {
		t.Fatal("another secret verifies the signature")
	}
	tampered := got[0]
	tampered.Body = []byte(strings.Replace(string(tampered.Body), "needs_reauth", "active", 1))
	if verify(secret, tampered, clock.Now()) {
		t.Fatal("a changed body verifies")
	}
	env := envelope(t, got[0].Body)
	var data store.ConnectionEventData
	if err := json.Unmarshal(env.Data, &data); err != nil {
		t.Fatal(err)
	}
	if env.Type != "connection.status_changed" || env.ID != got[0].ID || env.Version != 1 ||
		data.Change == nil || data.Change.AADSTS != "AADSTS50173" || data.Change.From != "active" || data.Connection.ID != e.conn.ID {
		t.Fatalf("envelope %+v data %+v", env, data)
	}
	ds := deliveries(t, e.st, e.tenant.ID, ep.ID)
	if len(ds) != 1 || ds[0].Status != "delivered" || ds[0].Attempts != 1 || ds[0].LastStatusCode == nil || *ds[0].LastStatusCode != 204 {
		t.Fatalf("delivery %+v", ds)
	}

	// Rotation with overlap: both secrets sign until the overlap ends.
	newSecret := webhooks.NewSecret()
	if err := e.st.RotateWebhookSecret(context.Background(), e.tenant.ID, ep.ID, newSecret, clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	e.setStatus(t, "active", "")
	w.RunOnce(context.Background())
	got = rc.all()
	if len(got) != 2 || len(strings.Fields(got[1].Signature)) != 2 || !verify(secret, got[1], clock.Now()) || !verify(newSecret, got[1], clock.Now()) {
		t.Fatalf("during the overlap: %d requests, signature %q", len(got), got[1].Signature)
	}
	clock.Set(clock.Now().Add(2 * time.Hour))
	e.setStatus(t, "needs_reauth", "AADSTS50173")
	w.RunOnce(context.Background())
	got = rc.all()
	if len(got) != 3 || verify(secret, got[2], clock.Now()) || !verify(newSecret, got[2], clock.Now()) {
		t.Fatalf("after the overlap: signature %q", got[2].Signature)
	}
}

func TestRetriesFollowTheSchedule(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, func(int, received) (int, http.Header) { return http.StatusInternalServerError, nil })
	ep, _ := e.endpoint(t, rc.srv.URL+"/hook")
	clock := &fakeClock{t: time.Now().Add(time.Minute).Truncate(time.Second)}
	w := &webhooks.Worker{Store: e.st, Guard: localGuard(), Now: clock.Now, Jitter: func() float64 { return 1 }}
	var total time.Duration
	for _, d := range webhooks.DefaultSchedule {
		total += d
	}
	if total < 70*time.Hour || total > 74*time.Hour {
		t.Fatalf("the schedule spans %s, want about three days", total)
	}
	e.setStatus(t, "needs_reauth", "AADSTS50173")
	ctx := context.Background()
	for i := 0; i <= len(webhooks.DefaultSchedule); i++ {
		if n, err := w.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("attempt %d: RunOnce %d %v", i+1, n, err)
		}
		d := deliveries(t, e.st, e.tenant.ID, ep.ID)[0]
		if d.Attempts != i+1 {
			t.Fatalf("attempts %d, want %d", d.Attempts, i+1)
		}
		if i == len(webhooks.DefaultSchedule) {
			if d.Status != "failed" {
				t.Fatalf("after the last retry: %s", d.Status)
			}
			break
		}
		want := clock.Now().Add(webhooks.DefaultSchedule[i])
		if d.Status != "pending" || !d.NextAttemptAt.Equal(want) {
			t.Fatalf("attempt %d: next %s (status %s), want %s", i+1, d.NextAttemptAt, d.Status, want)
		}
		clock.Set(want.Add(-time.Second))
		if n, _ := w.RunOnce(ctx); n != 0 {
			t.Fatalf("attempt %d: retried a second early", i+1)
		}
		clock.Set(want)
	}
	if got := len(rc.all()); got != len(webhooks.DefaultSchedule)+1 {
		t.Fatalf("receiver got %d attempts, want %d", got, len(webhooks.DefaultSchedule)+1)
	}
	// Failing through every retry: the endpoint is disabled, with an event.
	got, err := e.st.WebhookEndpoint(ctx, e.tenant.ID, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Enabled || !strings.Contains(got.DisabledReason, "every retry") {
		t.Fatalf("endpoint after the schedule: enabled=%v reason %q", got.Enabled, got.DisabledReason)
	}
	evs, _ := e.st.Events(ctx, store.EventQuery{TenantID: e.tenant.ID, Types: []string{store.EventWebhookEndpointDisabled}})
	if len(evs) != 1 || !strings.Contains(string(evs[0].Data), ep.ID) {
		t.Fatalf("endpoint_disabled events: %+v", evs)
	}
}

func TestGoneDisablesTheEndpoint(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, func(int, received) (int, http.Header) { return http.StatusGone, nil })
	ep, _ := e.endpoint(t, rc.srv.URL+"/hook")
	w := &webhooks.Worker{Store: e.st, Guard: localGuard(), Now: func() time.Time { return time.Now().Add(time.Minute) }}
	e.setStatus(t, "needs_reauth", "AADSTS50173")
	ctx := context.Background()
	if n, _ := w.RunOnce(ctx); n != 1 {
		t.Fatalf("attempted %d", n)
	}
	d := deliveries(t, e.st, e.tenant.ID, ep.ID)[0]
	got, _ := e.st.WebhookEndpoint(ctx, e.tenant.ID, ep.ID)
	if d.Status != "failed" || got.Enabled || !strings.Contains(got.DisabledReason, "410") {
		t.Fatalf("after 410: delivery %s, endpoint enabled=%v %q", d.Status, got.Enabled, got.DisabledReason)
	}
	e.setStatus(t, "active", "")
	if n, _ := w.RunOnce(ctx); n != 0 || len(rc.all()) != 1 {
		t.Fatalf("a disabled endpoint got more: attempted %d, received %d", n, len(rc.all()))
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, func(n int, _ received) (int, http.Header) {
		if n == 1 {
			return http.StatusServiceUnavailable, http.Header{"Retry-After": {"120"}}
		}
		return http.StatusOK, nil
	})
	ep, _ := e.endpoint(t, rc.srv.URL+"/hook")
	clock := &fakeClock{t: time.Now().Add(time.Minute).Truncate(time.Second)}
	// Jitter 1.5 would put the schedule's first retry at 7.5 s: the
	// receiver's 120 s wins.
	w := &webhooks.Worker{Store: e.st, Guard: localGuard(), Now: clock.Now, Jitter: func() float64 { return 1.5 }}
	e.setStatus(t, "needs_reauth", "AADSTS50173")
	ctx := context.Background()
	w.RunOnce(ctx)
	start := clock.Now()
	d := deliveries(t, e.st, e.tenant.ID, ep.ID)[0]
	if !d.NextAttemptAt.Equal(start.Add(120 * time.Second)) {
		t.Fatalf("next attempt %s, want %s", d.NextAttemptAt, start.Add(120*time.Second))
	}
	clock.Set(start.Add(119 * time.Second))
	if n, _ := w.RunOnce(ctx); n != 0 {
		t.Fatal("retried before Retry-After")
	}
	clock.Set(start.Add(120 * time.Second))
	if n, _ := w.RunOnce(ctx); n != 1 {
		t.Fatal("no retry at Retry-After")
	}
	if d := deliveries(t, e.st, e.tenant.ID, ep.ID)[0]; d.Status != "delivered" || d.Attempts != 2 {
		t.Fatalf("after the retry: %+v", d)
	}
}

// TestCrashBetweenCommitAndDelivery: an event committed while no worker
// runs is delivered by the next one; a worker that claimed and died is
// taken over when its lease ends.
func TestCrashBetweenCommitAndDelivery(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, nil)
	ep, _ := e.endpoint(t, rc.srv.URL+"/hook")
	ctx := context.Background()

	// A worker runs, stops; the event commits; a new worker on a new pool starts.
	first := &webhooks.Worker{Store: e.st, Guard: localGuard(), Poll: 20 * time.Millisecond}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { first.Run(wctx); close(done) }()
	stop()
	<-done
	e.setStatus(t, "needs_reauth", "AADSTS50173")
	st2 := openStore(t, e.url)
	second := &webhooks.Worker{Store: st2, Guard: localGuard(), Poll: 20 * time.Millisecond}
	wctx, stop = context.WithCancel(ctx)
	defer stop()
	go second.Run(wctx)
	eventually(t, "delivery after restart", func() bool { return len(rc.all()) == 1 })
	stop()

	// A claim whose worker died before sending: leased, then taken over.
	e.setStatus(t, "active", "")
	clock := &fakeClock{t: time.Now().Add(time.Minute).Truncate(time.Second)}
	jobs, err := e.st.ClaimWebhookDeliveries(ctx, clock.Now(), "00000000-0000-0000-0000-00000000dead", 45*time.Second, 10)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %d %v", len(jobs), err)
	}
	third := &webhooks.Worker{Store: openStore(t, e.url), Guard: localGuard(), Now: clock.Now}
	if n, _ := third.RunOnce(ctx); n != 0 {
		t.Fatal("took over a live lease")
	}
	clock.Set(clock.Now().Add(46 * time.Second))
	if n, _ := third.RunOnce(ctx); n != 1 {
		t.Fatal("did not take over an expired lease")
	}
	ds := deliveries(t, e.st, e.tenant.ID, ep.ID)
	if len(ds) != 2 || ds[0].Status != "delivered" || ds[0].Attempts != 2 || len(rc.all()) != 2 {
		t.Fatalf("after takeover: %+v, received %d", ds[0], len(rc.all()))
	}
	// The dead worker's late finish is refused: its lease is gone.
	if err := e.st.FinishWebhookDelivery(ctx, jobs[0].ID, "00000000-0000-0000-0000-00000000dead", clock.Now(),
		store.DeliveryOutcome{StatusCode: 500}); err == nil {
		t.Fatal("a lost lease finished a delivery")
	}
}
