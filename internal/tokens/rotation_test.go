package tokens_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/secrets"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

// newKey is a second ring entry beside testdb's k1.
var newKey = "k2:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))

// replicaRing is a replica whose store seals with the given ring.
func (e *env) replicaRing(t *testing.T, ring string, opts tokens.Options) (*tokens.Service, *store.Store) {
	t.Helper()
	r, err := secrets.ParseRing(ring)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), e.url, r, store.Options{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	if opts.Now == nil {
		opts.Now = e.ms.Sim.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	svc := tokens.New(st, e.ms.Provider(), opts)
	go svc.Run(context.Background()) // the change poll: replicas re-read what others refreshed
	t.Cleanup(func() { svc.Close(); st.Close() })
	return svc, st
}

// Rolling key rotation as the README describes it, three replicas under
// load (forced refreshes re-seal tokens all the time, and each replica's
// change poll makes it re-read and decrypt what the others wrote): no
// caller sees an error, and after `keys rotate` nothing is under the old key.
func TestRollingKeyRotationHasNoErrors(t *testing.T) {
	e := newEnv(t)
	var conns []string
	for i := range 3 {
		conns = append(conns, e.conn(t, tokenstest.Conn{Name: "mailbox-" + string(rune('a'+i))}).ID)
	}
	opts := tokens.Options{ForceCooldown: 50 * time.Millisecond, PollInterval: 50 * time.Millisecond}
	// A replica drains its callers before it stops, as the server does.
	type replica struct {
		svc      *tokens.Service
		st       *store.Store
		inFlight sync.WaitGroup
	}
	var mu sync.RWMutex
	replicas := make([]*replica, 3)
	roll := func(ring string) {
		for i := range replicas {
			svc, st := e.replicaRing(t, ring, opts)
			mu.Lock()
			old := replicas[i]
			replicas[i] = &replica{svc: svc, st: st}
			mu.Unlock()
			if old != nil {
				old.inFlight.Wait()
				old.svc.Close()
				old.st.Close()
			}
			time.Sleep(150 * time.Millisecond) // load runs on the mixed fleet
		}
	}
	roll(testdb.EncryptionKeys) // today: k1 only
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var calls, failures, refreshed atomic.Int64
	for w := range 12 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				mu.RLock()
				r := replicas[rand.N(3)] // any replica, any connection
				r.inFlight.Add(1)
				mu.RUnlock()
				tok, err := r.svc.Token(ctx, e.tenant.ID, conns[rand.N(len(conns))], tokens.Request{ForceRefresh: i%4 == 0, Wait: 5 * time.Second})
				r.inFlight.Done()
				if ctx.Err() != nil {
					return
				}
				calls.Add(1)
				if tok.Refreshed {
					refreshed.Add(1)
				}
				if err != nil {
					failures.Add(1)
					t.Errorf("caller %d: %v", w, err)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	// 1. The new key is added after the old one everywhere: it opens, it does not seal.
	roll(testdb.EncryptionKeys + "," + newKey)
	// 2. Then made primary everywhere: every replica already opens it.
	roll(newKey + "," + testdb.EncryptionKeys)
	// 3. keys rotate re-seals the rest under it, online.
	mu.RLock()
	st := replicas[0].st
	mu.RUnlock()
	for {
		n, err := st.RotateBatch(context.Background(), 100)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	time.Sleep(300 * time.Millisecond)
	// 4. The old key is dropped everywhere.
	roll(newKey)
	time.Sleep(300 * time.Millisecond)
	stop()
	wg.Wait()
	if failures.Load() != 0 || refreshed.Load() == 0 {
		t.Fatalf("%d of %d calls failed; %d refreshed", failures.Load(), calls.Load(), refreshed.Load())
	}
	old := 0
	raw, err := pgx.Connect(context.Background(), e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close(context.Background())
	for _, col := range store.SealedColumns() {
		table, column, _ := strings.Cut(col, ".")
		var n int
		if err := raw.QueryRow(context.Background(), `SELECT count(*) FROM `+table+` WHERE `+column+` IS NOT NULL
			AND convert_from(substring(`+column+` from 3 for get_byte(`+column+`, 1)), 'UTF8') <> 'k2'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		old += n
	}
	if old != 0 {
		t.Fatalf("%d ciphertexts not under the new key after keys rotate", old)
	}
	t.Logf("%d calls on a fleet rolled three times, %d refreshed at Microsoft: 0 failed; 0 ciphertexts under the old key", calls.Load(), refreshed.Load())
}

// The old README's order (a new key first on one replica while the others
// do not hold it yet): the others answer 503 service_unavailable with
// Retry-After for what it sealed, never 500, and log the missing key ID
// once however often they meet it.
func TestUnknownKeyIsServiceUnavailableLoggedOnce(t *testing.T) {
	e := newEnv(t)
	c := e.conn(t, tokenstest.Conn{})
	ahead, _ := e.replicaRing(t, newKey+","+testdb.EncryptionKeys, tokens.Options{})
	var logs bytes.Buffer
	var logMu sync.Mutex
	behind, _ := e.replicaRing(t, testdb.EncryptionKeys, tokens.Options{
		Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil))})
	ctx := context.Background()
	e.ms.Sim.Advance(time.Minute)
	if _, err := ahead.Token(ctx, e.tenant.ID, c.ID, tokens.Request{ForceRefresh: true}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, err := behind.Token(ctx, e.tenant.ID, c.ID, tokens.Request{})
		if te := wantCode(t, err, tokens.CodeServiceUnavailable); te.RetryAfter <= 0 {
			t.Fatalf("no Retry-After: %+v", te)
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	if n := strings.Count(logs.String(), "key_id=k2"); n != 1 {
		t.Fatalf("the missing key was logged %d times, want once:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))) {
		t.Fatal("a key in the log")
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
