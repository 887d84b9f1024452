package apikeys

import (
	"context"
	"errors"
	"testing"
	"time"
)

// burstOf counts how many requests a key gets at one instant: its burst.
func burstOf(k *Key, now time.Time) int {
	n := 0
	for ; n < 100_000; n++ {
		if ok, _ := k.Allow(now); !ok {
			break
		}
	}
	return n
}

func TestKeysTakeTheirOwnLimitOrTheServersDefault(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := time.Unix(5000, 0)
	v := NewVerifier(f.st, Options{Now: func() time.Time { return now }, Rate: 100, Burst: 20})
	rate, burst := 10.0, 3
	plain, _ := f.create(t, NewKey{Name: "default"})
	own, row := f.create(t, NewKey{Name: "own", Rate: &rate, Burst: &burst})
	if row.Rate == nil || *row.Rate != 10 || row.Burst == nil || *row.Burst != 3 {
		t.Fatalf("stored limit: %v %v", row.Rate, row.Burst)
	}
	rateOnly, _ := f.create(t, NewKey{Name: "rate-only", Rate: &rate})
	for _, c := range []struct {
		key       string
		burst     int
		nextAfter time.Duration // when the next request is allowed: 1/rate
	}{{plain, 20, 10 * time.Millisecond}, {own, 3, 100 * time.Millisecond}, {rateOnly, 2, 100 * time.Millisecond}} {
		k, err := v.Verify(ctx, c.key)
		if err != nil {
			t.Fatal(err)
		}
		if got := burstOf(k, now); got != c.burst {
			t.Errorf("key %s: burst %d, want %d", k.Name, got, c.burst)
		}
		if ok, wait := k.Allow(now); ok || wait != c.nextAfter {
			t.Errorf("key %s: after the burst ok=%v wait=%v, want a wait of %v", k.Name, ok, wait, c.nextAfter)
		}
		if ok, _ := k.Allow(now.Add(c.nextAfter)); !ok {
			t.Errorf("key %s: refused once a slot was free", k.Name)
		}
	}
}

func TestAKeysLimitIsChecked(t *testing.T) {
	f := newFixture(t)
	zero, neg, huge, ok := 0.0, -5.0, 2e6, 50.0
	noBurst, bigBurst := 0, 2_000_000
	for _, n := range []NewKey{{Name: "a", Rate: &zero}, {Name: "b", Rate: &neg}, {Name: "c", Rate: &huge},
		{Name: "d", Rate: &ok, Burst: &noBurst}, {Name: "e", Burst: &bigBurst}} {
		n.TenantID = f.tenant.ID
		if _, _, err := Create(context.Background(), f.st, n); !errors.Is(err, ErrLimit) {
			t.Errorf("%s: %v, want ErrLimit", n.Name, err)
		}
	}
	keys, err := f.st.ListAPIKeys(context.Background(), f.tenant.ID)
	if err != nil || len(keys) != 0 {
		t.Fatalf("refused keys were stored: %d %v", len(keys), err)
	}
}
