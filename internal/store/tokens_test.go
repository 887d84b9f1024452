package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

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

// A refresh's decision is written in one go; bookkeeping-only writes and
// touches leave the version (which replicas' caches compare) alone.
func TestRefreshConnectionWrites(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	lock := store.RefreshLock{Wait: time.Second, Lease: 5 * time.Second}
	at, rt := "access-PLAINTEXT", "refresh-2-PLAINTEXT"
	exp, refreshed := time.Now().Add(time.Hour).UTC().Truncate(time.Second), time.Now().UTC().Truncate(time.Second)
	c, err := f.s.RefreshConnection(ctx, f.tenantA.ID, f.connA.ID, lock, func(_ store.Connection, cr store.Credentials, st store.TokenState) (*store.TokenWrite, error) {
		if cr.RefreshToken != rtA || st.NotBefore != nil || st.Alive(ctx) != nil {
			t.Errorf("read under the lock: %+v", st)
		}
		return &store.TokenWrite{Update: &store.ConnectionUpdate{AccessToken: &at, AccessTokenExpiresAt: &exp, RefreshToken: &rt},
			NotBefore: &time.Time{}, RefreshedAt: &refreshed}, nil
	})
	if err != nil || c.Version != f.connA.Version+2 || c.LastRefreshAt == nil || !c.LastRefreshAt.Equal(refreshed) {
		t.Fatalf("after refresh: version %d, last refresh %v, %v", c.Version, c.LastRefreshAt, err)
	}
	_, cr, _ := f.s.ConnectionWithCredentials(ctx, f.tenantA.ID, f.connA.ID)
	if cr.AccessToken != at || cr.RefreshToken != rt || !cr.AccessTokenExpiresAt.Equal(exp) {
		t.Fatal("tokens not stored together")
	}
	nb := time.Now().Add(time.Minute).UTC().Truncate(time.Second)
	c, err = f.s.RefreshConnection(ctx, f.tenantA.ID, f.connA.ID, lock, func(store.Connection, store.Credentials, store.TokenState) (*store.TokenWrite, error) {
		return &store.TokenWrite{NotBefore: &nb}, nil
	})
	if err != nil || c.Version != f.connA.Version+2 {
		t.Fatalf("a Retry-After write changed the version to %d (%v)", c.Version, err)
	}
	f.s.RefreshConnection(ctx, f.tenantA.ID, f.connA.ID, lock, func(_ store.Connection, _ store.Credentials, st store.TokenState) (*store.TokenWrite, error) {
		if st.NotBefore == nil || !st.NotBefore.Equal(nb) {
			t.Errorf("not before %v, want %v", st.NotBefore, nb)
		}
		return nil, nil
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

// A second refresh waits for the first one's lock no longer than its
// bound, and the keep-alive claim skips a locked row.
func TestRefreshLockIsBounded(t *testing.T) {
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
	held, release := make(chan struct{}), make(chan struct{})
	go f.s.RefreshConnection(ctx, f.tenantA.ID, f.connA.ID, store.RefreshLock{}, func(store.Connection, store.Credentials, store.TokenState) (*store.TokenWrite, error) {
		close(held)
		<-release
		return nil, nil
	})
	<-held
	defer close(release)
	_, err := f.s.RefreshConnection(ctx, f.tenantA.ID, f.connA.ID, store.RefreshLock{Wait: 100 * time.Millisecond},
		func(store.Connection, store.Credentials, store.TokenState) (*store.TokenWrite, error) {
			t.Error("ran while another holder had the lock")
			return nil, nil
		})
	if !errors.Is(err, store.ErrBusy) {
		t.Fatalf("err = %v, want ErrBusy", err)
	}
	policy := store.DuePolicy{Now: time.Now(), SecretWarning: 14 * 24 * time.Hour}
	var claimed []string
	var founds []bool
	for range 2 { // the second finds nothing: B is handled, A is locked
		found, err := f.s.ClaimDueConnection(ctx, policy, store.RefreshLock{}, func(c store.Connection, _ store.Credentials, _ store.TokenState) (*store.TokenWrite, error) {
			claimed = append(claimed, c.ID)
			return &store.TokenWrite{Update: &store.ConnectionUpdate{Status: &store.StatusEvent{Status: "secret_expiring"}}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		founds = append(founds, found)
	}
	if len(claimed) != 1 || claimed[0] != f.connB.ID || !founds[0] || founds[1] {
		t.Fatalf("claimed %v %v, want only the unlocked %s", claimed, founds, f.connB.ID)
	}
}

func ptr[T any](v T) *T { return &v }
