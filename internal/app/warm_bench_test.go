package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/app"
	"github.com/brokerhq/broker/internal/config"
	"github.com/brokerhq/broker/internal/testdb"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

// BenchmarkWarmToken is one warm token fetch through the whole handler as
// `broker serve` builds it (request IDs, metrics, access log, rate limit
// at its default), for profiling the hot path:
//
//	go test -run '^$' -bench WarmToken -benchmem -cpuprofile cpu.out -memprofile mem.out ./internal/app/
//
// The as-deployed figure over loopback is bench/deployedbench's.
func BenchmarkWarmToken(b *testing.B) {
	ms := tokenstest.StartMicrosoft()
	b.Cleanup(ms.Server.Close)
	env := map[string]string{"BROKER_DATABASE_URL": testdb.New(b), "BROKER_ENCRYPTION_KEYS": keys, "BROKER_SESSION_KEYS": keys,
		"BROKER_MICROSOFT_CLIENT_ID": ms.Demo.WebApp.ClientID, "BROKER_MICROSOFT_CLIENT_SECRET": ms.Demo.WebApp.Secret,
		"BROKER_MICROSOFT_LOGIN_URL": ms.Server.URL, "BROKER_MICROSOFT_GRAPH_URL": ms.Server.URL}
	cfg, err := config.Load(func(k string) string { return env[k] }, config.Need{Keys: true, SessionKeys: true, Microsoft: true})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	a, err := app.New(ctx, app.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(a.Close)
	tenant, err := a.Store.CreateTenant(ctx, "bench", "Bench")
	if err != nil {
		b.Fatal(err)
	}
	project, err := a.Store.CreateProject(ctx, tenant.ID, "Sales")
	if err != nil {
		b.Fatal(err)
	}
	conn, err := ms.Create(ctx, a.Store, tokenstest.Conn{TenantID: tenant.ID, ProjectID: project.ID, Name: "warm", UPN: ms.Demo.Adele.UPN})
	if err != nil {
		b.Fatal(err)
	}
	var keys []string
	for range 64 { // in turn, so the per-key limit is not what is measured
		k, _, err := apikeys.Create(ctx, a.Store, apikeys.NewKey{TenantID: tenant.ID, Name: fmt.Sprintf("bench-%d", len(keys))})
		if err != nil {
			b.Fatal(err)
		}
		keys = append(keys, "Bearer "+k)
	}
	path := "/api/v1/connections/" + conn.ID + "/token"
	fetch := func(i int) int {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", keys[i%len(keys)])
		w := httptest.NewRecorder()
		a.Handler.ServeHTTP(w, req)
		return w.Code
	}
	for i := range len(keys) { // warm: every key verified, the token in memory
		if code := fetch(i); code != http.StatusOK {
			b.Fatalf("warm-up fetch: %d", code)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if code := fetch(i); code != http.StatusOK {
			b.Fatalf("fetch: %d", code)
		}
		i++
	}
}
