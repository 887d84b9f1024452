package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/secrets"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
)

const (
	keyK1 = "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	keyK2 = "k2:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="
)

func openStore(t testing.TB, url, ring string) *store.Store {
	t.Helper()
	r, err := secrets.ParseRing(ring)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(context.Background(), url, r, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

type fixture struct {
	s                  *store.Store
	url                string
	tenantA, tenantB   store.Tenant
	projectA, projectB store.Project
	connA, connB       store.Connection
}

const (
	secretA = "client-secret-of-tenant-a-PLAINTEXT"
	secretB = "client-secret-of-tenant-b-PLAINTEXT"
	rtA     = "refresh-token-of-tenant-a-PLAINTEXT"
)

func newFixture(t *testing.T) *fixture { return newFixtureTB(t) }

func newFixtureTB(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{url: testdb.New(t)}
	f.s = openStore(t, f.url, keyK1)
	var err error
	if f.tenantA, err = f.s.CreateTenant(ctx, "acme", "Acme Corp"); err != nil {
		t.Fatal(err)
	}
	if f.tenantB, err = f.s.CreateTenant(ctx, "globex", "Globex"); err != nil {
		t.Fatal(err)
	}
	if f.projectA, err = f.s.CreateProject(ctx, f.tenantA.ID, "Sales"); err != nil {
		t.Fatal(err)
	}
	if f.projectB, err = f.s.CreateProject(ctx, f.tenantB.ID, "Sales"); err != nil {
		t.Fatal(err)
	}
	f.connA = mustConn(t, f.s, f.tenantA.ID, f.projectA.ID, "mailbox", secretA)
	f.connB = mustConn(t, f.s, f.tenantB.ID, f.projectB.ID, "mailbox", secretB)
	if _, err := f.s.UpdateConnection(ctx, f.tenantA.ID, f.connA.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
		rt := rtA
		return store.ConnectionUpdate{RefreshToken: &rt}, nil
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

func mustConn(t testing.TB, s *store.Store, tenant, project, name, secret string) store.Connection {
	t.Helper()
	c, err := s.CreateConnection(context.Background(), store.NewConnection{
		TenantID: tenant, ProjectID: project, Name: name, AccountType: "tenant", AuthType: "client_credentials",
		MSTenant: "contoso.onmicrosoft.com", ClientID: "11111111-1111-1111-1111-111111111111",
		UserPrincipal: "adele@contoso.onmicrosoft.com", ClientSecret: secret,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// rawConn connects as the URL's own user (a superuser here) without SET ROLE:
// the most privileged view a deployment could have.
func rawConn(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

var tenantOwnedTables = []string{"tenants", "projects", "users", "project_members", "sessions", "connections",
	"connection_events", "oauth_flows", "api_keys", "audit_events", "operators", "events", "webhook_endpoints", "webhook_deliveries"}

func TestRawSelectWithoutTenantSeesNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.s.CreateUser(ctx, f.tenantA.ID, "ann@acme.test", "hash", "admin", []string{f.projectA.ID}); err != nil {
		t.Fatal(err)
	}
	f.s.AppendAudit(ctx, store.AuditEvent{TenantID: f.tenantA.ID, ActorType: "system", Action: "test"})
	c := rawConn(t, f.url)
	if _, err := c.Exec(ctx, "SET ROLE "+store.AppRole); err != nil {
		t.Fatal(err)
	}
	for _, table := range tenantOwnedTables {
		var n int
		err := c.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n)
		if table == "operators" && err != nil && strings.Contains(err.Error(), "permission denied") {
			continue // the app role may not even read operators; only the system path may
		}
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if n != 0 {
			t.Errorf("%s: %d rows visible without a tenant", table, n)
		}
	}
	// And the app role is really bound: it is neither superuser nor BYPASSRLS.
	var super, bypass bool
	c.QueryRow(ctx, "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user").Scan(&super, &bypass)
	if super || bypass {
		t.Fatalf("app role superuser=%v bypassrls=%v", super, bypass)
	}
}

func TestTableOwnerIsBoundByRLS(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := rawConn(t, f.url)
	// A non-superuser owner: hand the tables to a fresh role and query as it.
	role := fmt.Sprintf("owner_%d", time.Now().UnixNano())
	for _, q := range []string{"CREATE ROLE " + role, "ALTER TABLE connections OWNER TO " + role, "SET ROLE " + role} {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		c.Exec(context.Background(), "RESET ROLE")
		c.Exec(context.Background(), "ALTER TABLE connections OWNER TO CURRENT_USER")
		c.Exec(context.Background(), "DROP ROLE "+role)
	})
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM connections").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("table owner sees %d rows without a tenant; RLS is not forced", n)
	}
}

func TestTenantCannotTouchAnotherTenantsRows(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b := f.tenantA.ID, f.connB.ID
	checks := map[string]error{}
	_, checks["Connection"] = f.s.Connection(ctx, a, b)
	_, _, checks["ConnectionWithCredentials"] = f.s.ConnectionWithCredentials(ctx, a, b)
	_, checks["UpdateConnection"] = f.s.UpdateConnection(ctx, a, b, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
		t.Error("updater ran on another tenant's row")
		return store.ConnectionUpdate{}, nil
	})
	checks["DeleteConnection"] = f.s.DeleteConnection(ctx, a, b)
	_, checks["CreateConnection in B's project"] = f.s.CreateConnection(ctx, store.NewConnection{
		TenantID: a, ProjectID: f.projectB.ID, Name: "sneaky", AccountType: "common", AuthType: "authorization_code"})
	// People, keys, flows and audit of tenant B, through tenant A.
	userB, err := f.s.CreateUser(ctx, f.tenantB.ID, "bea@globex.test", "hash", "admin", nil)
	if err != nil {
		t.Fatal(err)
	}
	keyB, err := f.s.CreateAPIKey(ctx, store.APIKey{TenantID: f.tenantB.ID, Name: "b", Prefix: "brk_b", SecretHash: []byte("h"), Scope: "token"})
	if err != nil {
		t.Fatal(err)
	}
	_, checks["User"] = f.s.User(ctx, a, userB.ID)
	checks["SetPassword"] = f.s.SetPassword(ctx, a, userB.ID, "new-hash")
	checks["RevokeAPIKey"] = f.s.RevokeAPIKey(ctx, a, keyB.ID, time.Now())
	_, checks["CreateProject-user in B"] = f.s.CreateUser(ctx, a, "x@acme.test", "h", "member", []string{f.projectB.ID})
	for name, err := range checks {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", name, err)
		}
	}
	list, err := f.s.ListConnections(ctx, a, store.ListConnectionsFilter{})
	if err != nil || len(list) != 1 || list[0].ID != f.connA.ID {
		t.Fatalf("tenant A lists %v, %v", list, err)
	}
	// B's rows are untouched.
	c, cr, err := f.s.ConnectionWithCredentials(ctx, f.tenantB.ID, b)
	if err != nil || c.Name != "mailbox" || cr.ClientSecret != secretB {
		t.Fatalf("tenant B's row changed: %+v %v", c, err)
	}
	if u, err := f.s.User(ctx, f.tenantB.ID, userB.ID); err != nil || u.PasswordHash != "hash" {
		t.Fatalf("tenant B's user changed: %v", err)
	}
	if keys, _ := f.s.ListAPIKeys(ctx, f.tenantB.ID); len(keys) != 1 || keys[0].RevokedAt != nil {
		t.Fatalf("tenant B's key changed: %+v", keys)
	}
	if keys, _ := f.s.ListAPIKeys(ctx, a); len(keys) != 0 {
		t.Fatalf("tenant A lists %d of B's keys", len(keys))
	}
	if _, err := f.s.PrincipalByEmail(ctx, "x@acme.test"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a user with B's project was created in A: %v", err)
	}
}

func TestDuplicatesAreConflicts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.s.CreateTenant(ctx, "acme", "Another"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate slug: %v", err)
	}
	if _, err := f.s.CreateProject(ctx, f.tenantA.ID, "sales"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate project: %v", err)
	}
	if _, err := f.s.CreateConnection(ctx, store.NewConnection{TenantID: f.tenantA.ID, ProjectID: f.projectA.ID,
		Name: "MAILBOX", AccountType: "common", AuthType: "authorization_code"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate connection name: %v", err)
	}
	// The same name in another tenant is fine.
	if _, err := f.s.CreateProject(ctx, f.tenantB.ID, "Support"); err != nil {
		t.Errorf("project in other tenant: %v", err)
	}
}

func TestRawTablesHoldNoPlaintextSecrets(t *testing.T) {
	f := newFixture(t)
	assertNoPlaintext(t, f.url, secretA, secretB, rtA)
}

// assertNoPlaintext reads every text and bytea column of every table, as a
// pg_dump would, and fails if any plaintext appears.
func assertNoPlaintext(t *testing.T, url string, plaintexts ...string) {
	t.Helper()
	ctx := context.Background()
	c := rawConn(t, url)
	rows, err := c.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND data_type IN ('text', 'bytea', 'jsonb', 'ARRAY')`)
	if err != nil {
		t.Fatal(err)
	}
	type col struct{ table, column string }
	cols, _ := pgx.CollectRows(rows, func(r pgx.CollectableRow) (col, error) {
		var c col
		return c, r.Scan(&c.table, &c.column)
	})
	if len(cols) < 20 {
		t.Fatalf("only %d columns scanned", len(cols))
	}
	for _, cl := range cols {
		rows, err := c.Query(ctx, fmt.Sprintf(`SELECT %q::text FROM %q`, cl.column, cl.table))
		if err != nil {
			t.Fatalf("%s.%s: %v", cl.table, cl.column, err)
		}
		vals, _ := pgx.CollectRows(rows, pgx.RowTo[*string])
		for _, v := range vals {
			for _, p := range plaintexts {
				if v != nil && (strings.Contains(*v, p) || bytes.Contains([]byte(*v), []byte(fmt.Sprintf("%x", p)))) {
					t.Errorf("%s.%s holds a plaintext secret", cl.table, cl.column)
				}
			}
		}
	}
}

func TestKeyRotationMovesEverythingToPrimary(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := range 7 {
		mustConn(t, f.s, f.tenantA.ID, f.projectA.ID, fmt.Sprintf("extra-%d", i), "s")
	}
	// One ciphertext in every sealed column: a cached access token and a flow's verifier too.
	at, exp := "access-token-PLAINTEXT", time.Now().Add(time.Hour)
	if _, err := f.s.UpdateConnection(ctx, f.tenantB.ID, f.connB.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
		return store.ConnectionUpdate{AccessToken: &at, AccessTokenExpiresAt: &exp}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.CreateFlow(ctx, store.Flow{TenantID: f.tenantA.ID, StateHash: []byte("s"), Kind: "sign_in",
		ConnectionID: f.connA.ID, SessionHash: []byte("x"), Verifier: "verifier-PLAINTEXT", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// A broker-wide webhook endpoint (no tenant), its secret rotated: both columns hold one.
	ep, err := f.s.CreateWebhookEndpoint(ctx, store.NewWebhookEndpoint{URL: "https://hooks.example/x", Secret: "whsec_OLD-PLAINTEXT"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.RotateWebhookSecret(ctx, "", ep.ID, "whsec_NEW-PLAINTEXT", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A tenant's own app registration, its client secret sealed.
	app, err := f.s.CreateAppRegistration(ctx, store.NewAppRegistration{TenantID: f.tenantA.ID,
		ClientID: "acacacac-1111-4222-8333-444455556666", HomeTenantID: "aaaabbbb-0000-cccc-1111-dddd2222eeee",
		Audience: store.AudienceMultipleOrgs, Credential: "app-secret-PLAINTEXT", VerifiedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	rotated := openStore(t, f.url, keyK2+","+keyK1)
	// Still opens under the old key while k2 is primary.
	if _, cr, err := rotated.ConnectionWithCredentials(ctx, f.tenantA.ID, f.connA.ID); err != nil || cr.RefreshToken != rtA {
		t.Fatalf("old ciphertext after new primary: %q %v", cr.RefreshToken, err)
	}
	const want = 15 // 9 client secrets, 1 refresh token, 1 access token, 1 verifier, 2 webhook secrets, 1 app credential
	if before, _ := rotated.CountNotUnderPrimary(ctx); before != want {
		t.Fatalf("before rotation %d ciphertexts under k1, want %d", before, want)
	}
	total := 0
	for {
		n, err := rotated.RotateBatch(ctx, 5)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		total += n
	}
	if total != want {
		t.Fatalf("rotated %d, want %d", total, want)
	}
	// Read every sealed column raw: nothing names k1 any more.
	c := rawConn(t, f.url)
	seen := 0
	for _, tc := range store.SealedColumns() {
		table, column, _ := strings.Cut(tc, ".")
		rows, err := c.Query(ctx, fmt.Sprintf(`SELECT %s FROM %s WHERE %s IS NOT NULL`, column, table, column))
		if err != nil {
			t.Fatal(err)
		}
		cts, _ := pgx.CollectRows(rows, pgx.RowTo[[]byte])
		if len(cts) == 0 {
			t.Errorf("%s holds no ciphertext: the test does not cover it", tc)
		}
		for _, ct := range cts {
			seen++
			if id, _ := secrets.KeyID(ct); id != "k2" {
				t.Fatalf("%s: ciphertext under %q after rotation", tc, id)
			}
		}
	}
	if seen != want {
		t.Fatalf("%d ciphertexts read raw, want %d", seen, want)
	}
	onlyK2 := openStore(t, f.url, keyK2)
	if _, cr, err := onlyK2.ConnectionWithCredentials(ctx, f.tenantB.ID, f.connB.ID); err != nil || cr.ClientSecret != secretB || cr.AccessToken != at {
		t.Fatalf("after rotation with k1 removed: %v", err)
	}
	if _, cred, err := onlyK2.AppRegistrationCredential(ctx, f.tenantA.ID, app.ID); err != nil || cred != "app-secret-PLAINTEXT" {
		t.Fatalf("app credential after rotation: %v", err)
	}
	flow, err := onlyK2.ConsumeFlow(ctx, f.tenantA.ID, []byte("s"), []byte("x"), time.Now())
	if err != nil || flow.Verifier != "verifier-PLAINTEXT" {
		t.Fatalf("flow after rotation: %q %v", flow.Verifier, err)
	}
	// Consuming the flow wiped its verifier.
	var left []byte
	if err := c.QueryRow(ctx, `SELECT verifier_enc FROM oauth_flows WHERE id = $1`, flow.ID).Scan(&left); err != nil || left != nil {
		t.Fatalf("verifier kept after use: %v", err)
	}
}

func TestCopiedCiphertextFailsToOpen(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other := mustConn(t, f.s, f.tenantA.ID, f.projectA.ID, "other", "other-secret")
	c := rawConn(t, f.url)
	if _, err := c.Exec(ctx, `UPDATE connections SET client_secret_enc = (SELECT client_secret_enc FROM connections WHERE id = $1) WHERE id = $2`,
		f.connA.ID, other.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.ConnectionWithCredentials(ctx, f.tenantA.ID, other.ID); !errors.Is(err, secrets.ErrOpen) {
		t.Fatalf("copied ciphertext: err = %v, want ErrOpen", err)
	}
}

func TestFlowIsConsumedOnceUnderRace(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := time.Now()
	flow, err := f.s.CreateFlow(ctx, store.Flow{TenantID: f.tenantA.ID, StateHash: []byte("state"), Kind: "sign_in",
		ConnectionID: f.connA.ID, SessionHash: []byte("sess"), Verifier: "pkce-verifier-PLAINTEXT", ExpiresAt: now.Add(10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	assertNoPlaintext(t, f.url, "pkce-verifier-PLAINTEXT")
	if _, err := f.s.ConsumeFlow(ctx, f.tenantA.ID, []byte("state"), []byte("other-session"), now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other session: %v", err)
	}
	if _, err := f.s.ConsumeFlow(ctx, f.tenantB.ID, []byte("state"), []byte("sess"), now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other tenant: %v", err)
	}
	results := make(chan error, 20)
	for range 20 {
		go func() {
			got, err := f.s.ConsumeFlow(ctx, f.tenantA.ID, []byte("state"), []byte("sess"), now)
			if err == nil && (got.ID != flow.ID || got.Verifier != "pkce-verifier-PLAINTEXT") {
				err = fmt.Errorf("wrong flow %+v", got)
			}
			results <- err
		}()
	}
	wins := 0
	for range 20 {
		err := <-results
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrNotFound):
			t.Fatal(err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d callbacks consumed the flow, want 1", wins)
	}
}

func TestExpiredFlowIsNotConsumed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := time.Now()
	f.s.CreateFlow(ctx, store.Flow{TenantID: f.tenantA.ID, StateHash: []byte("s"), Kind: "sign_in",
		SessionHash: []byte("x"), ExpiresAt: now.Add(-time.Second)})
	if _, err := f.s.ConsumeFlow(ctx, f.tenantA.ID, []byte("s"), []byte("x"), now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired flow: %v", err)
	}
}

func TestAuditIsAppendOnly(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.s.AppendAudit(ctx, store.AuditEvent{TenantID: f.tenantA.ID, ActorType: "system", Action: "x"}); err != nil {
		t.Fatal(err)
	}
	c := rawConn(t, f.url)
	if _, err := c.Exec(ctx, "UPDATE audit_events SET action = 'y'"); err == nil {
		t.Fatal("audit row updated")
	}
	if _, err := c.Exec(ctx, "DELETE FROM audit_events"); err == nil {
		t.Fatal("audit row deleted")
	}
	evs, err := f.s.ListAudit(ctx, f.tenantA.ID, store.AuditFilter{})
	if err != nil || len(evs) != 1 || evs[0].Action != "x" {
		t.Fatalf("audit = %+v %v", evs, err)
	}
	if evs, _ := f.s.ListAudit(ctx, f.tenantB.ID, store.AuditFilter{}); len(evs) != 0 {
		t.Fatalf("tenant B sees %d of A's events", len(evs))
	}
}
