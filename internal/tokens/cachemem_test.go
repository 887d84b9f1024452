package tokens

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/store"
)

// A cached connection costs at most 1 KiB of heap beside its access token:
// the entry, what a caller learns about the connection, its strings (each
// its own allocation, as scanned from a row) and its place in the map.
// bench/scalebench measures the same with rows read from Postgres.
func TestCachedConnectionUnderOneKiB(t *testing.T) {
	const n = 20_000
	s := &Service{}
	now := time.Now()
	tokens := 0
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		c := &store.Connection{ID: fmt.Sprintf("0a6f1c2e-9b7d-4c1e-8f00-%012d", i),
			TenantID: fmt.Sprintf("5d2b3c4d-0000-4000-8000-%012d", i%200), ProjectID: fmt.Sprintf("7e1d2c3b-0000-4000-8000-%012d", i%1000),
			ProjectName: fmt.Sprintf("Project %d", i%1000), Name: fmt.Sprintf("Shared mailbox %d", i),
			AccountType: "organizations", AuthType: "authorization_code", Status: "active",
			GrantedScopes:   []string{"https://graph.microsoft.com/Mail.ReadWrite", "https://graph.microsoft.com/Mail.Send", "offline_access"},
			AccountTID:      fmt.Sprintf("72f988bf-86f1-41af-91ab-%012d", i%200),
			AccountUsername: fmt.Sprintf("user%06d@contoso.example", i), Version: 3, LastRefreshAt: &now}
		access := fmt.Sprintf("eyJ0eXAiOiJKV1QiLCJub25jZSI6I%064d", i) // stands in for a real 1.5–2.5 KB token
		tokens += len(access)
		s.put(newEntry(c, access, now.Add(time.Hour)))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (float64(after.HeapAlloc) - float64(before.HeapAlloc) - float64(tokens)) / n
	t.Logf("%.0f bytes per cached connection beside its access token (%d connections)", per, n)
	if per > 1024 {
		t.Fatalf("%.0f bytes per cached connection, want ≤ 1024", per)
	}
	runtime.KeepAlive(s)
}
