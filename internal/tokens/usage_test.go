package tokens_test

import (
	"context"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tokens"
)

func TestUsageIsCountedPerHourAndFlushedInBatches(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := time.Date(2030, 5, 6, 7, 30, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	u := tokens.NewUsage(e.st, clock, nil, 0)
	const key1, key2 = "0000000a-0000-4000-8000-000000000001", "0000000a-0000-4000-8000-000000000002"
	const conn = "0000000c-0000-4000-8000-000000000001"
	for range 3 {
		u.Record(e.tenant.ID, key1, conn, false, now)
	}
	u.Record(e.tenant.ID, key1, conn, true, now.Add(time.Minute))
	u.Record(e.tenant.ID, key2, conn, false, now)
	u.Record(e.tenant.ID, key2, conn, false, now.Add(40*time.Minute)) // the next hour
	if err := u.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	u.Record(e.tenant.ID, key1, conn, false, now.Add(2*time.Minute))
	if err := u.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := u.Flush(ctx); err != nil { // nothing new: nothing added
		t.Fatal(err)
	}
	rows, err := e.st.ListTokenUsage(ctx, e.tenant.ID, store.TokenUsageFilter{ConnectionID: conn})
	if err != nil {
		t.Fatal(err)
	}
	hour := now.Truncate(time.Hour)
	got := map[string]store.TokenUsage{}
	for _, r := range rows {
		got[r.APIKeyID+r.Hour.UTC().Format(time.RFC3339)] = r
	}
	k1 := got[key1+hour.Format(time.RFC3339)]
	if len(rows) != 3 || k1.Cached != 4 || k1.Refreshed != 1 || !k1.FirstAt.Equal(now) || !k1.LastAt.Equal(now.Add(2*time.Minute)) {
		t.Fatalf("rows %+v", rows)
	}
	if k2 := got[key2+hour.Add(time.Hour).Format(time.RFC3339)]; k2.Cached != 1 {
		t.Fatalf("next hour %+v", k2)
	}
	if rows, _ := e.st.ListTokenUsage(ctx, e.other.ID, store.TokenUsageFilter{}); len(rows) != 0 {
		t.Fatalf("another tenant sees %d usage rows", len(rows))
	}
}
