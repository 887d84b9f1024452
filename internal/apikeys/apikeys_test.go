package apikeys

import (
	"context"
	"crypto/sha256"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
)

func openStore(t *testing.T, url string) *store.Store {
	t.Helper()
	return testdb.OpenStore(t, url, store.Options{})
}

type fixture struct {
	url    string
	st     *store.Store
	tenant store.Tenant
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{url: testdb.New(t)}
	f.st = openStore(t, f.url)
	var err error
	if f.tenant, err = f.st.CreateTenant(context.Background(), "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) create(t *testing.T, n NewKey) (string, store.APIKey) {
	t.Helper()
	if n.TenantID == "" {
		n.TenantID = f.tenant.ID
	}
	if n.Name == "" {
		n.Name = "billing-sync"
	}
	key, row, err := Create(context.Background(), f.st, n)
	if err != nil {
		t.Fatal(err)
	}
	return key, row
}

func TestGeneratedKeysHaveTheDocumentedShape(t *testing.T) {
	shape := regexp.MustCompile(`^brk_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$`)
	seen := map[string]bool{}
	for range 200 {
		key, prefix, hash := Generate()
		if !shape.MatchString(key) || !strings.HasPrefix(key, prefix+"_") || seen[prefix] {
			t.Fatalf("key %q prefix %q (seen %v)", key, prefix, seen[prefix])
		}
		seen[prefix] = true
		gotPrefix, gotHash, ok := parse(key)
		if !ok || gotPrefix != prefix || gotHash != hash {
			t.Fatalf("parse(%q) = %q, %v", key, gotPrefix, ok)
		}
		// The hash is of the 256-bit secret, not of the text.
		if hash == sha256.Sum256([]byte(key)) {
			t.Fatal("hash of the whole key")
		}
	}
	key, _, _ := Generate()
	for _, bad := range []string{"", key[:len(key)-1], key + "x", "xrk" + key[3:], strings.Replace(key, "_", "-", 2),
		key[:len(key)-1] + "!"} {
		if _, _, ok := parse(bad); ok {
			t.Errorf("parse accepted %q", bad)
		}
	}
}

func TestOnlyTheHashIsStored(t *testing.T) {
	f := newFixture(t)
	key, row := f.create(t, NewKey{})
	secret := key[len(row.Prefix)+1:]
	if len(row.SecretHash) != 32 || strings.Contains(string(row.SecretHash), secret) || row.Scope != ScopeToken || row.ProjectIDs != nil {
		t.Fatalf("stored %+v", row)
	}
	rows, err := f.st.ListAPIKeys(context.Background(), f.tenant.ID)
	if err != nil || len(rows) != 1 {
		t.Fatal(rows, err)
	}
	for _, field := range []string{rows[0].Name, rows[0].Prefix, string(rows[0].SecretHash)} {
		if strings.Contains(field, secret) {
			t.Fatal("the secret is stored")
		}
	}
}

func TestVerifyChecksTheSecretAndCachesWithoutQueries(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	key, row := f.create(t, NewKey{ProjectIDs: []string{"7e57a000-0000-4000-8000-000000000001"}})
	v := NewVerifier(f.st, Options{})
	for range 100 {
		k, err := v.Verify(ctx, key)
		if err != nil || k.ID != row.ID || k.TenantID != f.tenant.ID || !k.AllowsProject("7e57a000-0000-4000-8000-000000000001") ||
			k.AllowsProject("7e57a000-0000-4000-8000-000000000002") {
			t.Fatalf("verify: %+v %v", k, err)
		}
	}
	if n := v.Lookups(); n != 1 {
		t.Fatalf("%d database lookups for 100 verifications, want 1", n)
	}
	// The right prefix with another secret is refused from memory.
	other, _, _ := Generate()
	forged := row.Prefix + other[len(row.Prefix):]
	if _, err := v.Verify(ctx, forged); !errors.Is(err, ErrInvalid) {
		t.Fatalf("forged secret: %v", err)
	}
	// An unknown key costs one lookup, then is refused from memory.
	for range 5 {
		if _, err := v.Verify(ctx, other); !errors.Is(err, ErrInvalid) {
			t.Fatalf("unknown key: %v", err)
		}
	}
	if n := v.Lookups(); n != 2 {
		t.Fatalf("%d lookups after forged and unknown keys, want 2", n)
	}
}

func TestConcurrentFirstUsesShareOneLookup(t *testing.T) {
	f := newFixture(t)
	key, _ := f.create(t, NewKey{})
	v := NewVerifier(f.st, Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for range 200 {
		wg.Go(func() {
			_, err := v.Verify(context.Background(), key)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := v.Lookups(); n != 1 {
		t.Fatalf("%d lookups for 200 concurrent first uses, want 1", n)
	}
}

// Two replicas: a revocation made through one (or directly in the store)
// reaches the other at its next poll.
func TestRevocationReachesEveryReplica(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	key, row := f.create(t, NewKey{})
	now := time.Now()
	here := NewVerifier(f.st, Options{})
	there := NewVerifier(openStore(t, f.url), Options{})
	for _, v := range []*Verifier{here, there} {
		if _, err := v.Verify(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.st.RevokeAPIKey(ctx, f.tenant.ID, row.ID, now); err != nil {
		t.Fatal(err)
	}
	here.Drop(row.ID) // the replica the admin used
	if _, err := here.Verify(ctx, key); !errors.Is(err, ErrInvalid) {
		t.Fatalf("revoking replica still accepts: %v", err)
	}
	if _, err := there.Verify(ctx, key); err != nil {
		t.Fatalf("before its poll the other replica answers from memory: %v", err)
	}
	if err := there.pollRevocations(ctx, now.Add(-revocationOverlap)); err != nil {
		t.Fatal(err)
	}
	if _, err := there.Verify(ctx, key); !errors.Is(err, ErrInvalid) {
		t.Fatalf("after its poll the other replica still accepts: %v", err)
	}
	// A fresh replica looks it up and refuses it too.
	if _, err := NewVerifier(f.st, Options{}).Verify(ctx, key); !errors.Is(err, ErrInvalid) {
		t.Fatalf("new replica accepts a revoked key: %v", err)
	}
}

func TestRecheckDropsKeysOfDeletedTenants(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	key, _ := f.create(t, NewKey{})
	v := NewVerifier(f.st, Options{})
	if _, err := v.Verify(ctx, key); err != nil {
		t.Fatal(err)
	}
	c := testdbConn(t, f.url)
	if _, err := c.Exec(ctx, "SELECT set_config('broker.all_tenants', 'on', false)"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "DELETE FROM tenants WHERE id = $1", f.tenant.ID); err != nil {
		t.Fatal(err)
	}
	if err := v.recheck(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, key); !errors.Is(err, ErrInvalid) {
		t.Fatalf("key of a deleted tenant: %v", err)
	}
}

func TestLastUseIsWrittenInBatches(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	key, row := f.create(t, NewKey{})
	v := NewVerifier(f.st, Options{Now: func() time.Time { return at }})
	for range 10 {
		if _, err := v.Verify(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	rows, _ := f.st.ListAPIKeys(ctx, f.tenant.ID)
	if rows[0].LastUsedAt != nil {
		t.Fatal("last use written on the request path")
	}
	v.flushLastUsed(ctx)
	rows, _ = f.st.ListAPIKeys(ctx, f.tenant.ID)
	if rows[0].ID != row.ID || rows[0].LastUsedAt == nil || !rows[0].LastUsedAt.Equal(at) {
		t.Fatalf("last_used_at = %v, want %v", rows[0].LastUsedAt, at)
	}
}

func TestRateLimit(t *testing.T) {
	l := newLimiter(10, 5) // 10/s, 5 at once
	now := time.Unix(1000, 0).UnixNano()
	for i := range 5 {
		if ok, _ := l.allow(now); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.allow(now)
	if ok || wait <= 0 || wait > 100*time.Millisecond {
		t.Fatalf("6th request: ok=%v wait=%v", ok, wait)
	}
	if ok, _ := l.allow(now + int64(100*time.Millisecond)); !ok {
		t.Fatal("a slot 100ms later refused")
	}
	unlimited := newLimiter(0, 0)
	for range 1000 {
		if ok, _ := unlimited.allow(now); !ok {
			t.Fatal("unlimited limiter refused")
		}
	}
}

// testdbConn connects as the database's owner, outside the app role.
func testdbConn(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}
