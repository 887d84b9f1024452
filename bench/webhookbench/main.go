// Command webhookbench measures webhook delivery (`make bench-webhooks`):
// one broker replica's delivery worker against a local HTTP receiver, on a
// database of its own. Throughput: a backlog of committed status changes
// is delivered with the worker started afterwards, to one endpoint (whose
// events go one at a time, in order) and to eight. Latency: status changes
// committed one after another while the worker runs, timed from the start
// of the change's transaction to the receiver's handler. It prints a
// Markdown report.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/brokerhq/broker/bench/benchkit"
	"github.com/brokerhq/broker/internal/secrets"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
	"github.com/brokerhq/broker/internal/webhooks"
)

const ringText = "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

func main() {
	backlog := flag.Int("backlog", 2000, "status changes in the throughput backlog")
	changes := flag.Int("changes", 300, "status changes timed for latency")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *backlog, *changes); err != nil {
		fmt.Fprintln(os.Stderr, "webhookbench:", err)
		os.Exit(1)
	}
}

// receiver counts requests and notes when each event arrived.
type receiver struct {
	mu   sync.Mutex
	at   map[int64]time.Time // sequence → first receipt
	n    int
	done chan struct{}
	want int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	var env webhooks.Envelope
	b, _ := io.ReadAll(r.Body)
	json.Unmarshal(b, &env)
	rc.mu.Lock()
	if _, ok := rc.at[env.Sequence]; !ok {
		rc.at[env.Sequence] = now
	}
	rc.n++
	if rc.n == rc.want {
		close(rc.done)
	}
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) expect(n int) {
	rc.mu.Lock()
	rc.at, rc.n, rc.want, rc.done = map[int64]time.Time{}, 0, n, make(chan struct{})
	rc.mu.Unlock()
}

type world struct {
	st   *store.Store
	url  string
	conn store.Connection
	rc   *receiver
	srv  *httptest.Server
	flip bool
}

func run(ctx context.Context, backlog, changes int) error {
	adminURL := os.Getenv("BROKER_TEST_DATABASE_URL")
	if adminURL == "" {
		adminURL = testdb.DefaultURL
	}
	dbURL, drop, err := benchkit.Create(ctx, adminURL, "broker_bench")
	if err != nil {
		return err
	}
	defer drop()
	ring, _ := secrets.ParseRing(ringText)
	st, err := store.Open(ctx, dbURL, ring, store.Options{MaxConns: 8})
	if err != nil {
		return err
	}
	defer st.Close()
	w := &world{st: st, url: dbURL, rc: &receiver{}}
	w.srv = httptest.NewServer(w.rc)
	defer w.srv.Close()
	t, err := st.CreateTenant(ctx, "bench", "Bench")
	if err != nil {
		return err
	}
	p, err := st.CreateProject(ctx, t.ID, "Sales")
	if err != nil {
		return err
	}
	if w.conn, err = st.CreateConnection(ctx, store.NewConnection{TenantID: t.ID, ProjectID: p.ID, Name: "mailbox",
		AccountType: "common", AuthType: "authorization_code", Status: "active"}); err != nil {
		return err
	}
	var pg string
	st.Pool().QueryRow(ctx, "SHOW server_version").Scan(&pg)
	load, _ := os.ReadFile("/proc/loadavg")
	out := os.Stdout
	fmt.Fprintf(out, "# Webhook delivery benchmark\n\nMachine: %s, %d logical CPUs (GOMAXPROCS %d), Linux %s, %s, PostgreSQL %s on localhost TCP; load average at start %s.\n\n",
		benchkit.CPU(), runtime.NumCPU(), runtime.GOMAXPROCS(0), benchkit.Kernel(), runtime.Version(), pg, string(load[:min(len(load), 14)]))
	fmt.Fprintf(out, "One delivery worker (one replica, its own pool of 4 connections) sends to a receiver on loopback that answers 204. "+
		"Each event is a real status change of a connection (`connection.status_changed`), written with its event in one transaction.\n\n")
	fmt.Fprintf(out, "| Phase | Events | Endpoints | Deliveries | Time | Deliveries/s |\n|---|---:|---:|---:|---:|---:|\n")
	for _, endpoints := range []int{1, 8} {
		if err := w.throughput(ctx, t.ID, backlog, endpoints, out); err != nil {
			return err
		}
	}
	return w.latency(ctx, t.ID, changes, out)
}

func (w *world) endpoints(ctx context.Context, tenantID string, n int) (func(), error) {
	var ids []string
	for i := range n {
		ep, err := w.st.CreateWebhookEndpoint(ctx, store.NewWebhookEndpoint{TenantID: tenantID,
			URL: fmt.Sprintf("%s/hook/%d", w.srv.URL, i), Secret: webhooks.NewSecret(), EventTypes: []string{store.EventConnectionStatusChanged}})
		if err != nil {
			return nil, err
		}
		ids = append(ids, ep.ID)
	}
	return func() {
		for _, id := range ids {
			w.st.DeleteWebhookEndpoint(context.Background(), tenantID, id)
		}
	}, nil
}

func (w *world) change(ctx context.Context) error {
	w.flip = !w.flip
	ev := store.StatusEvent{Status: "active"}
	if w.flip {
		ev = store.StatusEvent{Status: "needs_reauth", ErrorCode: "AADSTS50173", Reason: "The grant was revoked."}
	}
	_, err := w.st.UpdateConnection(ctx, w.conn.TenantID, w.conn.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
		return store.ConnectionUpdate{Status: &ev}, nil
	})
	return err
}

func (w *world) worker(ctx context.Context) (*store.Store, func(), error) {
	ring, _ := secrets.ParseRing(ringText)
	st, err := store.Open(ctx, w.url, ring, store.Options{MaxConns: 4})
	if err != nil {
		return nil, nil, err
	}
	g := &webhooks.Guard{AllowHTTPHosts: []string{"127.0.0.1"}, AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	wk := &webhooks.Worker{Store: st, Guard: g}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { wk.Run(wctx); close(done) }()
	return st, func() { cancel(); <-done; st.Close() }, nil
}

// throughput commits a backlog with no worker running, then times one
// worker delivering all of it.
func (w *world) throughput(ctx context.Context, tenantID string, backlog, endpoints int, out io.Writer) error {
	cleanup, err := w.endpoints(ctx, tenantID, endpoints)
	if err != nil {
		return err
	}
	defer cleanup()
	for range backlog {
		if err := w.change(ctx); err != nil {
			return err
		}
	}
	w.rc.expect(backlog * endpoints)
	start := time.Now()
	_, stop, err := w.worker(ctx)
	if err != nil {
		return err
	}
	defer stop()
	select {
	case <-w.rc.done:
	case <-time.After(30 * time.Minute):
		return fmt.Errorf("throughput: the backlog was not delivered in 30 minutes")
	case <-ctx.Done():
		return ctx.Err()
	}
	took := time.Since(start)
	n := backlog * endpoints
	fmt.Fprintf(out, "| Backlog | %d | %d | %d | %s | %.0f |\n", backlog, endpoints, n, took.Round(time.Millisecond), float64(n)/took.Seconds())
	return nil
}

// latency commits changes one after another with the worker running and
// times each from the start of its transaction to its receipt.
func (w *world) latency(ctx context.Context, tenantID string, changes int, out io.Writer) error {
	cleanup, err := w.endpoints(ctx, tenantID, 1)
	if err != nil {
		return err
	}
	defer cleanup()
	_, stop, err := w.worker(ctx)
	if err != nil {
		return err
	}
	defer stop()
	w.rc.expect(changes)
	starts := make([]time.Time, 0, changes)
	for range changes {
		starts = append(starts, time.Now())
		if err := w.change(ctx); err != nil {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-w.rc.done:
	case <-time.After(5 * time.Minute):
		return fmt.Errorf("latency: not every change arrived")
	}
	w.rc.mu.Lock()
	seqs := make([]int64, 0, len(w.rc.at))
	for s := range w.rc.at {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs) // one endpoint, in order: the i-th sequence is the i-th change
	lat := make([]time.Duration, 0, len(seqs))
	for i, s := range seqs {
		lat = append(lat, w.rc.at[s].Sub(starts[i]))
	}
	w.rc.mu.Unlock()
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		return lat[min(len(lat)-1, int(p*float64(len(lat))))].Round(100 * time.Microsecond)
	}
	fmt.Fprintf(out, "\nLatency, status change → receipt (%d changes, one every ~20 ms, worker running, woken by NOTIFY): "+
		"p50 %s, p90 %s, p99 %s, max %s.\n", len(lat), pct(0.50), pct(0.90), pct(0.99), lat[len(lat)-1].Round(100*time.Microsecond))
	return nil
}
