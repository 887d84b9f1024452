package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/secrets"
	"github.com/brokerhq/broker/internal/store"
)

func TestAPIKeyCreate(t *testing.T) {
	env := dbEnv(t)
	for _, args := range [][]string{
		{"tenant", "create", "--slug", "acme", "--name", "Acme"},
		{"project", "create", "--tenant", "acme", "--name", "Sales"},
	} {
		if r := runCLI(t, env, "", args...); r.runErr != nil {
			t.Fatal(r.runErr)
		}
	}
	oneLine(t, runCLI(t, env, "", "apikey", "create", "--tenant", "acme"), "missing --name")
	oneLine(t, runCLI(t, env, "", "apikey", "create", "--tenant", "nope", "--name", "x"), `tenant "nope" not found`)
	oneLine(t, runCLI(t, env, "", "apikey", "create", "--tenant", "acme", "--project", "Nowhere", "--name", "x"), `project "Nowhere" in acme not found`)

	r := runCLI(t, env, "", "apikey", "create", "--tenant", "acme", "--project", "sales", "--name", "billing-sync")
	if r.runErr != nil {
		t.Fatal(r.runErr)
	}
	key := regexp.MustCompile(`brk_[a-z2-7]{12}_[A-Za-z0-9_-]{43}`).FindString(r.out)
	if key == "" || !strings.Contains(r.out, "shown once") || !strings.Contains(r.out, "projects Sales") {
		t.Fatalf("output %q", r.out)
	}
	ctx := context.Background()
	ring, _ := secrets.ParseRing(testKeys)
	st, err := store.Open(ctx, env["BROKER_DATABASE_URL"], ring, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k, err := apikeys.NewVerifier(st, apikeys.Options{}).Verify(ctx, key)
	if err != nil || k.Name != "billing-sync" || len(k.ProjectIDs) != 1 || k.Scope != apikeys.ScopeToken {
		t.Fatalf("printed key: %+v %v", k, err)
	}
	events, _ := st.ListAudit(ctx, k.TenantID, store.AuditFilter{Action: "api_key.created"})
	secret := key[len(k.Prefix)+1:]
	if len(events) != 1 || strings.Contains(fmt.Sprint(events[0].Details), secret) || strings.Contains(r.err, secret) {
		t.Fatalf("audit %+v", events)
	}
}

func TestOperatorAPIKeyCreate(t *testing.T) {
	env := dbEnv(t)
	oneLine(t, runCLI(t, env, "", "apikey", "create", "--operator", "--tenant", "acme", "--name", "x"), "--operator keys belong to no tenant")
	r := runCLI(t, env, "", "apikey", "create", "--operator", "--name", "platform-bot")
	if r.runErr != nil {
		t.Fatal(r.runErr)
	}
	key := regexp.MustCompile(`brk_[a-z2-7]{12}_[A-Za-z0-9_-]{43}`).FindString(r.out)
	if key == "" || !strings.Contains(r.out, "operator API key") {
		t.Fatalf("output %q", r.out)
	}
	ring, _ := secrets.ParseRing(testKeys)
	st, err := store.Open(context.Background(), env["BROKER_DATABASE_URL"], ring, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	row, err := st.APIKeyByPrefix(context.Background(), key[:len("brk_")+12])
	if err != nil || row.Scope != apikeys.ScopeOperator || row.TenantID != "" {
		t.Fatalf("stored key %+v, %v", row, err)
	}
}

func TestAPIKeyCreateWithItsOwnRateLimit(t *testing.T) {
	env := dbEnv(t)
	if r := runCLI(t, env, "", "tenant", "create", "--slug", "acme", "--name", "Acme"); r.runErr != nil {
		t.Fatal(r.runErr)
	}
	oneLine(t, runCLI(t, env, "", "apikey", "create", "--tenant", "acme", "--name", "x", "--rate", "0"), "--rate must be more than 0")
	oneLine(t, runCLI(t, env, "", "apikey", "create", "--tenant", "acme", "--name", "x", "--burst", "0"), "--burst from 1")
	oneLine(t, runCLI(t, env, "", "apikey", "create", "--operator", "--name", "x", "--rate", "5"), "--operator keys belong to no tenant")
	r := runCLI(t, env, "", "apikey", "create", "--tenant", "acme", "--name", "reports", "--rate", "25", "--burst", "5")
	if r.runErr != nil || !strings.Contains(r.out, "rate limit 25/s, burst 5") {
		t.Fatalf("output %q %v", r.out, r.runErr)
	}
	r = runCLI(t, env, "", "apikey", "create", "--tenant", "acme", "--name", "default")
	if r.runErr != nil || !strings.Contains(r.out, "rate limit the server's default") {
		t.Fatalf("output %q %v", r.out, r.runErr)
	}
	ring, _ := secrets.ParseRing(testKeys)
	st, err := store.Open(context.Background(), env["BROKER_DATABASE_URL"], ring, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tenant, _ := st.TenantBySlug(context.Background(), "acme")
	keys, err := st.ListAPIKeys(context.Background(), tenant.ID)
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys %+v %v", keys, err)
	}
	for _, k := range keys {
		switch {
		case k.Name == "reports" && (k.Rate == nil || *k.Rate != 25 || k.Burst == nil || *k.Burst != 5):
			t.Errorf("reports stored %v %v", k.Rate, k.Burst)
		case k.Name == "default" && (k.Rate != nil || k.Burst != nil):
			t.Errorf("default stored a limit %v %v", k.Rate, k.Burst)
		}
	}
}
