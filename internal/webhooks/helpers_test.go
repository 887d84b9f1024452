package webhooks_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
	"github.com/brokerhq/broker/internal/webhooks"
)

// env is a tenant with a project and a connection, in its own database.
type env struct {
	url     string
	st      *store.Store
	tenant  store.Tenant
	project store.Project
	conn    store.Connection
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{url: testdb.New(t)}
	e.st = testdb.OpenStore(t, e.url, store.Options{})
	var err error
	if e.tenant, err = e.st.CreateTenant(ctx, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	if e.project, err = e.st.CreateProject(ctx, e.tenant.ID, "Sales"); err != nil {
		t.Fatal(err)
	}
	if e.conn, err = e.st.CreateConnection(ctx, store.NewConnection{TenantID: e.tenant.ID, ProjectID: e.project.ID,
		Name: "mailbox", AccountType: "common", AuthType: "authorization_code", Status: "active"}); err != nil {
		t.Fatal(err)
	}
	return e
}

// setStatus changes the connection's status: one connection.status_changed.
func (e *env) setStatus(t testing.TB, status, code string) {
	t.Helper()
	if _, err := e.st.UpdateConnection(context.Background(), e.tenant.ID, e.conn.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
		return store.ConnectionUpdate{Status: &store.StatusEvent{Status: status, ErrorCode: code, Reason: "test " + status}}, nil
	}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) endpoint(t testing.TB, url string, types ...string) (store.WebhookEndpoint, string) {
	t.Helper()
	secret := webhooks.NewSecret()
	ep, err := e.st.CreateWebhookEndpoint(context.Background(), store.NewWebhookEndpoint{TenantID: e.tenant.ID, URL: url,
		Secret: secret, EventTypes: types})
	if err != nil {
		t.Fatal(err)
	}
	return ep, secret
}

// localGuard admits the test receiver on 127.0.0.1, as an operator would
// with BROKER_WEBHOOK_ALLOW_HTTP_HOSTS and BROKER_WEBHOOK_ALLOW_NETWORKS.
func localGuard() *webhooks.Guard {
	return &webhooks.Guard{AllowHTTPHosts: []string{"127.0.0.1"},
		AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
}

// received is one request the receiver got.
type received struct {
	ID, Timestamp, Signature string
	Body                     []byte
	Path                     string
}

// receiver is a real local HTTP server that records every request and
// answers with answer(request number on its path, request).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(n int, r received) (int, http.Header)
	perKey map[string]int
}

func newReceiver(t *testing.T, answer func(n int, r received) (int, http.Header)) *receiver {
	rc := &receiver{answer: answer, perKey: map[string]int{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got := received{ID: r.Header.Get("webhook-id"), Timestamp: r.Header.Get("webhook-timestamp"),
			Signature: r.Header.Get("webhook-signature"), Body: body, Path: r.URL.Path}
		rc.mu.Lock()
		rc.got = append(rc.got, got)
		rc.perKey[got.Path+" "+got.ID]++
		n := rc.perKey[got.Path+" "+got.ID]
		rc.mu.Unlock()
		status, h := http.StatusNoContent, http.Header(nil)
		if rc.answer != nil {
			status, h = rc.answer(n, got)
		}
		for k, v := range h {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// verify is an independent implementation of the Standard Webhooks
// verification (standardwebhooks.com, "Verifying webhooks"): the signed
// content is id.timestamp.body, the key the base64 after whsec_, and any
// one of the space-separated v1 signatures may match.
func verify(secret string, r received, now time.Time) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	ts, err := strconv.ParseInt(r.Timestamp, 10, 64)
	if err != nil || now.Sub(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(r.ID + "." + r.Timestamp + "." + string(r.Body)))
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(r.Signature) {
		version, b64, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

// envelope decodes a webhook body.
func envelope(t testing.TB, b []byte) webhooks.Envelope {
	t.Helper()
	var e webhooks.Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("body %s: %v", b, err)
	}
	return e
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	eventuallyWithin(t, 60*time.Second, what, cond)
}

func eventuallyWithin(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func deliveries(t testing.TB, st *store.Store, tenantID, endpointID string) []store.Delivery {
	t.Helper()
	ds, err := st.WebhookDeliveries(context.Background(), tenantID, endpointID, 10000)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func openStore(t testing.TB, url string) *store.Store {
	return testdb.OpenStore(t, url, store.Options{MaxConns: 4})
}
