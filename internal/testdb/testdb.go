// Package testdb gives each test its own Postgres database, cloned from a
// template that is migrated once per schema version. Tests run in parallel
// and never see each other's rows.
package testdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/secrets"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/migrations"
)

// DefaultURL is where tests find Postgres unless BROKER_TEST_DATABASE_URL says otherwise.
const DefaultURL = "postgres://postgres:postgres@localhost:5432/postgres?sslmode=disable"

// AdminURL is the maintenance database tests create their databases from.
func AdminURL() string {
	if u := os.Getenv("BROKER_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// New creates a fresh, migrated database for t, dropped when t ends, and
// returns its URL (connecting as the admin URL's user, like a deployment whose
// BROKER_DATABASE_URL names the tables' owner).
func New(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		t.Fatalf("testdb: Postgres does not answer at BROKER_TEST_DATABASE_URL (%s); start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start", redact(AdminURL()))
	}
	defer admin.Close(context.WithoutCancel(ctx))

	tmpl, err := ensureTemplate(ctx, admin)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	name := "broker_test_" + randomHex(8)
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, tmpl)); err != nil {
		t.Fatalf("testdb: create %s: %v", name, err)
	}
	t.Cleanup(func() { dropDatabase(name) })
	return withDatabase(AdminURL(), name)
}

// Empty creates an unmigrated database for t, for tests of migration itself.
func Empty(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		t.Fatalf("testdb: Postgres does not answer at BROKER_TEST_DATABASE_URL (%s)", redact(AdminURL()))
	}
	defer admin.Close(ctx)
	name := "broker_test_" + randomHex(8)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testdb: create %s: %v", name, err)
	}
	t.Cleanup(func() { dropDatabase(name) })
	return withDatabase(AdminURL(), name)
}

func dropDatabase(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return
	}
	defer c.Close(ctx)
	c.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
}

// ensureTemplate builds broker_tmpl_<hash of the migrations> once; concurrent
// test binaries wait on an advisory lock rather than race.
func ensureTemplate(ctx context.Context, admin *pgx.Conn) (string, error) {
	name := "broker_tmpl_" + migrationsHash()
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(727274)"); err != nil {
		return "", fmt.Errorf("lock: %w", err)
	}
	defer admin.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(727274)")
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_b"
	admin.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", building))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+building); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	m, err := store.NewMigrator(withDatabase(AdminURL(), building))
	if err != nil {
		return "", err
	}
	_, err = m.Up(ctx)
	m.Close()
	if err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", building, name)); err != nil {
		return "", fmt.Errorf("rename template: %w", err)
	}
	return name, nil
}

func migrationsHash() string {
	h := sha256.New()
	var names []string
	fs.WalkDir(migrations.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	sort.Strings(names)
	for _, n := range names {
		b, _ := fs.ReadFile(migrations.FS, n)
		h.Write([]byte(n))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func withDatabase(raw, db string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	u.Path = "/" + db
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "unparseable URL"
	}
	return u.Redacted()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// EncryptionKeys is the key ring test stores seal secrets with (test-only).
const EncryptionKeys = "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// OpenStore opens a store on url sealed with EncryptionKeys, closed when t ends.
func OpenStore(t testing.TB, url string, opts store.Options) *store.Store {
	t.Helper()
	ring, err := secrets.ParseRing(EncryptionKeys)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), url, ring, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}
