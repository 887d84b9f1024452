package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/brokerhq/broker/internal/store"
)

func TestTokenUsageIsTenantOwned(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Hour)
	if err := f.s.AddTokenUsage(ctx, []store.TokenUsage{{TenantID: f.tenantA.ID, Hour: now, APIKeyID: f.connA.ID,
		ConnectionID: f.connA.ID, Cached: 3, FirstAt: now, LastAt: now}}); err != nil {
		t.Fatal(err)
	}
	c := rawConn(t, f.url)
	if _, err := c.Exec(ctx, "SET ROLE "+store.AppRole); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM token_usage").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d usage rows visible without a tenant (%v)", n, err)
	}
	if rows, _ := f.s.ListTokenUsage(ctx, f.tenantB.ID, store.TokenUsageFilter{}); len(rows) != 0 {
		t.Fatalf("tenant B sees %d of A's usage rows", len(rows))
	}
	if rows, _ := f.s.ListTokenUsage(ctx, f.tenantA.ID, store.TokenUsageFilter{}); len(rows) != 1 || rows[0].Cached != 3 {
		t.Fatalf("tenant A sees %+v", rows)
	}
}

// A refresh's outcome is written in one go, under its lease; bookkeeping-
// only writes and touches leave the version (which replicas' caches
// compare) alone.
func TestRefreshLeaseWrites(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	lease := store.Lease{Holder: uuid.NewString(), Length: 5 * time.Second}
	yes := func(store.Connection, store.Credentials, store.RefreshState) bool { return true }
	claim, err := f.s.ClaimRefresh(ctx, f.tenantA.ID, f.connA.ID, lease, func(_ store.Connection, cr store.Credentials, st store.RefreshState) bool {
		if cr.RefreshToken != rtA || st.NotBefore != nil || st.Leased || st.Failures != 0 {
			t.Errorf("read by the claim: %+v", st)
		}
		return true
	})
	if err != nil || !claim.Held {
		t.Fatalf("claim: held %v, %v", claim.Held, err)
	}
	// A second claim sees the live lease and does not take it.
	other, err := f.s.ClaimRefresh(ctx, f.tenantA.ID, f.connA.ID, store.Lease{Holder: uuid.NewString(), Length: time.Second}, yes)
	if err != nil || other.Held || !other.State.Leased || other.State.LeaseLeft <= 0 || other.State.LeaseLeft > 5*time.Second {
		t.Fatalf("second claim: held %v, state %+v, %v", other.Held, other.State, err)
	}
	// Only the holder may finish.
	if _, err := f.s.FinishRefresh(ctx, f.tenantA.ID, f.connA.ID, uuid.NewString(), store.TokenWrite{}); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("finish by a stranger: %v, want ErrLeaseLost", err)
	}
	at, rt := "access-PLAINTEXT", "refresh-2-PLAINTEXT"
	exp, refreshed := time.Now().Add(time.Hour).UTC().Truncate(time.Second), time.Now().UTC().Truncate(time.Second)
	zero := 0
	c, err := f.s.FinishRefresh(ctx, f.tenantA.ID, f.connA.ID, lease.Holder, store.TokenWrite{
		Update:    &store.ConnectionUpdate{AccessToken: &at, AccessTokenExpiresAt: &exp, RefreshToken: &rt},
		NotBefore: &time.Time{}, RefreshedAt: &refreshed, Failures: &zero})
	if err != nil || c.Version != f.connA.Version+2 || c.LastRefreshAt == nil || !c.LastRefreshAt.Equal(refreshed) {
		t.Fatalf("after refresh: version %d, last refresh %v, %v", c.Version, c.LastRefreshAt, err)
	}
	_, cr, _ := f.s.ConnectionWithCredentials(ctx, f.tenantA.ID, f.connA.ID)
	if cr.AccessToken != at || cr.RefreshToken != rt || !cr.AccessTokenExpiresAt.Equal(exp) {
		t.Fatal("tokens not stored together")
	}
	// The lease is gone with the finish; a back-off write keeps the version.
	lease.Holder = uuid.NewString()
	if claim, err = f.s.ClaimRefresh(ctx, f.tenantA.ID, f.connA.ID, lease, yes); err != nil || !claim.Held {
		t.Fatalf("claim after finish: held %v, %v", claim.Held, err)
	}
	nb, two := time.Now().Add(time.Minute).UTC().Truncate(time.Second), 2
	c, err = f.s.FinishRefresh(ctx, f.tenantA.ID, f.connA.ID, lease.Holder, store.TokenWrite{NotBefore: &nb, Failures: &two})
	if err != nil || c.Version != f.connA.Version+2 {
		t.Fatalf("a back-off write changed the version to %d (%v)", c.Version, err)
	}
	f.s.ClaimRefresh(ctx, f.tenantA.ID, f.connA.ID, lease, func(_ store.Connection, _ store.Credentials, st store.RefreshState) bool {
		if st.NotBefore == nil || !st.NotBefore.Equal(nb) || st.Failures != 2 || st.Leased {
			t.Errorf("state %+v, want not before %v and 2 failures", st, nb)
		}
		return false
	})
	if err := f.s.TouchConnections(ctx, map[string]time.Time{f.connA.ID: time.Now()}); err != nil {
		t.Fatal(err)
	}
	stamps, err := f.s.ConnectionStamps(ctx, []string{f.connA.ID, f.connB.ID, "00000000-0000-4000-8000-000000000000"})
	if err != nil || len(stamps) != 2 {
		t.Fatalf("stamps %+v %v", stamps, err)
	}
	for _, s := range stamps {
		if s.ID == f.connA.ID && s.Version != f.connA.Version+2 {
			t.Fatalf("touch changed the version to %d", s.Version)
		}
	}
}

// A lease runs out by the database's clock, and then another claim takes
// it; the first holder's finish is refused.
func TestRefreshLeaseExpires(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	yes := func(store.Connection, store.Credentials, store.RefreshState) bool { return true }
	first := uuid.NewString()
	if c, err := f.s.ClaimRefresh(ctx, f.tenantA.ID, f.connA.ID, store.Lease{Holder: first, Length: 200 * time.Millisecond}, yes); err != nil || !c.Held {
		t.Fatalf("claim: %v", err)
	}
	time.Sleep(250 * time.Millisecond)
	second := uuid.NewString()
	if c, err := f.s.ClaimRefresh(ctx, f.tenantA.ID, f.connA.ID, store.Lease{Holder: second, Length: time.Second}, yes); err != nil || !c.Held {
		t.Fatalf("claim after the lease ran out: held %v, %v", c.Held, err)
	}
	if _, err := f.s.FinishRefresh(ctx, f.tenantA.ID, f.connA.ID, first, store.TokenWrite{}); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("the first holder's finish: %v, want ErrLeaseLost", err)
	}
	if _, err := f.s.FinishRefresh(ctx, f.tenantA.ID, f.connA.ID, second, store.TokenWrite{}); err != nil {
		t.Fatal(err)
	}
}

// The keep-alive claim skips a row another transaction holds or whose
// refresh is leased.
func TestClaimDueSkipsHeldRows(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// Both connections active with a client secret expiring soon: both due.
	soon := time.Now().Add(24 * time.Hour)
	for _, c := range []store.Connection{f.connA, f.connB} {
		if _, err := f.s.UpdateConnection(ctx, c.TenantID, c.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
			return store.ConnectionUpdate{Status: &store.StatusEvent{Status: "active"}, ClientSecretExpiresAt: ptr(&soon)}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if c, err := f.s.ClaimRefresh(ctx, f.tenantA.ID, f.connA.ID, store.Lease{Holder: uuid.NewString(), Length: time.Minute},
		func(store.Connection, store.Credentials, store.RefreshState) bool { return true }); err != nil || !c.Held {
		t.Fatalf("lease A: %v", err)
	}
	policy := store.DuePolicy{Now: time.Now(), SecretWarning: 14 * 24 * time.Hour}
	var claimed []string
	var founds []bool
	for range 2 { // the second finds nothing: B is handled, A is leased
		c, found, err := f.s.ClaimDueConnection(ctx, policy, store.Lease{}, func(c store.Connection, _ store.Credentials, _ store.RefreshState) (*store.TokenWrite, bool, error) {
			return &store.TokenWrite{Update: &store.ConnectionUpdate{Status: &store.StatusEvent{Status: "secret_expiring"}}}, false, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if found {
			claimed = append(claimed, c.Conn.ID)
		}
		founds = append(founds, found)
	}
	if len(claimed) != 1 || claimed[0] != f.connB.ID || !founds[0] || founds[1] {
		t.Fatalf("claimed %v %v, want only the unleased %s", claimed, founds, f.connB.ID)
	}
}

func ptr[T any](v T) *T { return &v }
