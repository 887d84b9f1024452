package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/api"
	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/secrets"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
	webpkg "github.com/brokerhq/broker/internal/web"
)

// The fault benchmark (`make bench-faults`, `tokenbench -faults`) replays
// the four ways a replica or a fleet fell over (issue 10), on loopback
// against the simulation, and prints what callers saw.

// faultWorld is a database, the simulation and a tenant with an API key.
type faultWorld struct {
	dbURL  string
	ms     *tokenstest.Microsoft
	admin  *store.Store
	tenant store.Tenant
	proj   store.Project
	key    string
	made   int
	rec    *upstreamLog
}

// upstreamLog notes when each token request was sent and answered, from
// every instance.
type upstreamLog struct {
	mu          sync.Mutex
	sends, back []time.Time
}

func (l *upstreamLog) RoundTrip(r *http.Request) (*http.Response, error) {
	tok := strings.HasSuffix(r.URL.Path, "/token")
	if tok {
		l.mu.Lock()
		l.sends = append(l.sends, time.Now())
		l.mu.Unlock()
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if tok {
		l.mu.Lock()
		l.back = append(l.back, time.Now())
		l.mu.Unlock()
	}
	return resp, err
}

// since returns the requests sent after t, and the shortest gap between an
// answer and the next request.
func (l *upstreamLog) since(t time.Time) (int, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, gap := 0, time.Duration(-1)
	for i, s := range l.sends {
		if s.Before(t) {
			continue
		}
		n++
		if i > 0 && i-1 < len(l.back) && !l.sends[i-1].Before(t) {
			if g := s.Sub(l.back[i-1]); gap < 0 || g < gap {
				gap = g
			}
		}
	}
	return n, gap
}

func newFaultWorld(ctx context.Context, dbURL string) (*faultWorld, error) {
	w := &faultWorld{dbURL: dbURL, ms: tokenstest.StartMicrosoft(), rec: &upstreamLog{}}
	var err error
	if w.admin, err = store.Open(ctx, dbURL, mustRingOf(keyOld), store.Options{MaxConns: 4}); err != nil {
		return nil, err
	}
	if w.tenant, err = w.admin.CreateTenant(ctx, "faults", "Faults"); err != nil {
		return nil, err
	}
	if w.proj, err = w.admin.CreateProject(ctx, w.tenant.ID, "Sales"); err != nil {
		return nil, err
	}
	w.key, _, err = apikeys.Create(ctx, w.admin, apikeys.NewKey{TenantID: w.tenant.ID, Name: "faults"})
	return w, err
}

func (w *faultWorld) close() {
	w.admin.Close()
	w.ms.Server.Close()
}

func (w *faultWorld) conns(ctx context.Context, n int, expired bool) ([]string, error) {
	var ids []string
	for range n {
		w.made++
		c, err := w.ms.Create(ctx, w.admin, tokenstest.Conn{TenantID: w.tenant.ID, ProjectID: w.proj.ID,
			Name: fmt.Sprintf("fault-%d", w.made), UPN: w.ms.Demo.Adele.UPN, Expired: expired})
		if err != nil {
			return nil, err
		}
		ids = append(ids, c.ID)
	}
	return ids, nil
}

func (w *faultWorld) newKey(ctx context.Context) (string, error) {
	w.made++
	raw, _, err := apikeys.Create(ctx, w.admin, apikeys.NewKey{TenantID: w.tenant.ID, Name: fmt.Sprintf("key-%d", w.made)})
	return raw, err
}

// Key rings of the rotation scenarios: k1 is today's key.
var (
	keyOld = "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	keyNew = "k2:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))
	keyTop = "k3:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32))
)

func mustRingOf(text string) *secrets.Ring {
	r, err := secrets.ParseRing(text)
	if err != nil {
		panic(err)
	}
	return r
}

// faultInstance is a replica as startInstance wires it, with the pool size,
// key ring and database URL a scenario needs, /readyz served, and its token
// requests logged.
type faultInstance struct {
	url  string
	st   *store.Store
	svc  *tokens.Service
	srv  *http.Server
	stop context.CancelFunc
}

func (w *faultWorld) start(ctx context.Context, dbURL, ring string, maxConns int32) (*faultInstance, error) {
	st, err := store.Open(ctx, dbURL, mustRingOf(ring), store.Options{MaxConns: maxConns})
	if err != nil {
		return nil, err
	}
	quiet := newQuiet()
	p := w.ms.Provider()
	p.HTTPClient = &http.Client{Transport: w.rec}
	// A forced refresh a second after the last one is a new token (default
	// 10 s): rotation scenarios re-seal often.
	svc := tokens.New(st, p, tokens.Options{Logger: quiet, ForceCooldown: time.Second})
	keys := apikeys.NewVerifier(st, apikeys.Options{Logger: quiet, Rate: 1e6, Burst: 1e6})
	h := api.New(st, svc, keys, nil, quiet, nil)
	r := chi.NewRouter()
	r.Route("/api/v1", h.Routes)
	web, err := webpkg.New(webpkg.Deps{Store: st, Logger: quiet, PublicURL: "http://localhost", SessionKeys: ringText})
	if err != nil {
		st.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", web.ObserveAPI(r))
	mux.Handle("/readyz", web)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		return nil, err
	}
	bg, stop := context.WithCancel(ctx)
	go svc.Run(bg)
	go keys.Run(bg)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return &faultInstance{url: "http://" + ln.Addr().String(), st: st, svc: svc, srv: srv, stop: stop}, nil
}

// close drains in-flight requests (a rolling restart), then stops.
func (in *faultInstance) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	in.srv.Shutdown(ctx)
	in.stop()
	in.svc.Close()
	in.st.Close()
}

func newQuiet() *slog.Logger { return slog.New(slog.NewTextHandler(discard{}, nil)) }

// tally counts answers by kind and status.
type tally struct {
	mu     sync.Mutex
	counts map[string]int
	slow   map[string]time.Duration
	noRA   int // 503s without Retry-After
}

func newTally() *tally { return &tally{counts: map[string]int{}, slow: map[string]time.Duration{}} }

func (t *tally) add(kind string, status int, retryAfter string, took time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counts[fmt.Sprintf("%s %d", kind, status)]++
	t.slow[kind] = max(t.slow[kind], took)
	if status == 503 && retryAfter == "" {
		t.noRA++
	}
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := make([]string, 0, len(t.counts))
	for k := range t.counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %d; ", k, t.counts[k])
	}
	fmt.Fprintf(&b, "503 without Retry-After: %d", t.noRA)
	return b.String()
}

func (t *tally) sum(suffix string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for k, v := range t.counts {
		if strings.HasSuffix(k, suffix) {
			n += v
		}
	}
	return n
}

var faultClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

func fetch(ctx context.Context, url, key string) (int, string, time.Duration) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	start := time.Now()
	resp, err := faultClient.Do(req)
	if err != nil {
		return -1, "", time.Since(start)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After"), time.Since(start)
}

func tokenURL(in *faultInstance, id, query string) string {
	return in.url + "/api/v1/connections/" + id + "/token" + query
}

func runFaults(ctx context.Context, dbURL string, out io.Writer) error {
	fmt.Fprintf(out, "# Fault benchmark\n\n%s\n", machine(ctx, dbURL))
	w, err := newFaultWorld(ctx, dbURL)
	if err != nil {
		return err
	}
	defer w.close()
	for _, f := range []func(context.Context, *faultWorld, io.Writer) error{slowMicrosoft, keyRotation, backoff, outage} {
		if err := f(ctx, w, out); err != nil {
			return err
		}
	}
	return nil
}

// Fault 1: eight refreshes waiting 15 s on Microsoft, one replica, pool of 4.
func slowMicrosoft(ctx context.Context, w *faultWorld, out io.Writer) error {
	in, err := w.start(ctx, w.dbURL, keyOld, 4)
	if err != nil {
		return err
	}
	defer in.close()
	slow, err := w.conns(ctx, 8, true)
	if err != nil {
		return err
	}
	others, err := w.conns(ctx, 12, false)
	if err != nil {
		return err
	}
	fresh := make([]string, len(others))
	for i := range fresh {
		if fresh[i], err = w.newKey(ctx); err != nil {
			return err
		}
	}
	fault := w.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, Grant: "refresh_token", Latency: 15 * time.Second})
	defer w.ms.Sim.ClearFault(fault)
	callers, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, id := range slow {
		wg.Go(func() { fetch(callers, tokenURL(in, id, ""), w.key) })
	}
	time.Sleep(500 * time.Millisecond)
	t := newTally()
	for i, id := range others {
		s, ra, took := fetch(ctx, in.url+"/readyz", "")
		t.add("/readyz", s, ra, took)
		s, ra, took = fetch(ctx, tokenURL(in, id, ""), fresh[i])
		t.add("other connection, uncached key", s, ra, took)
		time.Sleep(500 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	fmt.Fprintf(out, "## 1. Slow Microsoft: 8 refreshes answered after 15 s, one replica, pool of 4\n\n")
	fmt.Fprintf(out, "Meanwhile, every 0.5 s for 6 s: `/readyz`, and a token of another connection (not in memory) with an API key not in memory.\n\n")
	fmt.Fprintf(out, "| answers | slowest /readyz | slowest other fetch |\n|---|---:|---:|\n| %s | %s | %s |\n\n",
		t, ms(t.slow["/readyz"]), ms(t.slow["other connection, uncached key"]))
	return nil
}

// Fault 2: a key change rolled over three replicas under load, the old way
// (new key first, replica by replica) and the README's two phases.
func keyRotation(ctx context.Context, w *faultWorld, out io.Writer) error {
	conns, err := w.conns(ctx, 12, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "## 2. Rolling key rotation, three replicas under load\n\n")
	fmt.Fprintf(out, "12 workers fetch 12 connections round-robin over the replicas, every third fetch a forced refresh (re-sealed under the primary key); each replica re-reads rows others changed within its 1 s change poll. A roll restarts the replicas one by one, 1.5 s apart, each draining first.\n\n")
	fmt.Fprintf(out, "| procedure | answers | non-2xx |\n|---|---|---:|\n")
	var fleet []*faultInstance
	for range 3 {
		in, err := w.start(ctx, w.dbURL, keyOld, 16)
		if err != nil {
			return err
		}
		fleet = append(fleet, in)
	}
	var mu sync.RWMutex
	roll := func(ring string) error {
		for i := range fleet {
			in, err := w.start(ctx, w.dbURL, ring, 16)
			if err != nil {
				return err
			}
			mu.Lock()
			old := fleet[i]
			fleet[i] = in
			mu.Unlock()
			time.Sleep(300 * time.Millisecond) // the pre-stop delay: callers move to the others first
			old.close()
			time.Sleep(1500 * time.Millisecond)
		}
		return nil
	}
	const rotate = "keys rotate"
	phase := func(name string, steps ...string) error {
		t := newTally()
		lctx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for range 12 {
			wg.Go(func() {
				for i := 0; lctx.Err() == nil; i++ {
					mu.RLock()
					in := fleet[rand.N(3)]
					mu.RUnlock()
					q := ""
					if i%3 == 0 {
						q = "?force_refresh=true"
					}
					s, ra, took := fetch(lctx, tokenURL(in, conns[rand.N(len(conns))], q), w.key)
					if lctx.Err() == nil {
						t.add("fetch", s, ra, took)
					}
					time.Sleep(10 * time.Millisecond)
				}
			})
		}
		for _, r := range steps {
			if r == rotate {
				for { // broker keys rotate
					mu.RLock()
					st := fleet[0].st
					mu.RUnlock()
					n, err := st.RotateBatch(ctx, 500)
					if err != nil {
						stop()
						return err
					}
					if n == 0 {
						break
					}
				}
				continue
			}
			if err := roll(r); err != nil {
				stop()
				return err
			}
		}
		time.Sleep(2 * time.Second)
		stop()
		wg.Wait()
		fmt.Fprintf(out, "| %s | %s | %d |\n", name, t, t.sum("")-t.sum(" 200"))
		return nil
	}
	if err := phase("old README: `k2,k1` on each replica in turn, `keys rotate`, then `k2`", keyNew+","+keyOld, rotate, keyNew); err != nil {
		return err
	}
	if err := phase("README now: `k2,k3`, then `k3,k2`, `keys rotate`, then `k3`", keyNew+","+keyTop, keyTop+","+keyNew, rotate, keyTop); err != nil {
		return err
	}
	for _, in := range fleet {
		in.close()
	}
	raw, err := pgx.Connect(ctx, w.dbURL) // the owner: every tenant's rows
	if err != nil {
		return err
	}
	defer raw.Close(ctx)
	left := 0
	for _, col := range store.SealedColumns() {
		table, column, _ := strings.Cut(col, ".")
		var n int
		raw.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE `+column+` IS NOT NULL
			AND convert_from(substring(`+column+` from 3 for get_byte(`+column+`, 1)), 'UTF8') <> 'k3'`).Scan(&n)
		left += n
	}
	fmt.Fprintf(out, "\nCiphertexts not under `k3` after the second procedure's `keys rotate`: %d.\n\n", left)
	return nil
}

// Fault 3: Microsoft failing for 30 s under constant load on one connection
// over three replicas; then Retry-After: 2 for 10 s.
func backoff(ctx context.Context, w *faultWorld, out io.Writer) error {
	fmt.Fprintf(out, "## 3. Back-off: one connection, three replicas, 30 callers, constant load\n\n")
	fmt.Fprintf(out, "| Microsoft answers | for | caller answers | requests at Microsoft | shortest gap answer → next request |\n|---|---:|---|---:|---:|\n")
	for _, sc := range []struct {
		name  string
		fault mssim.Fault
		for_  time.Duration
	}{
		{"503, no Retry-After", mssim.Fault{Endpoint: mssim.EndpointToken, Status: 503}, 30 * time.Second},
		{"429, Retry-After: 2", mssim.Fault{Endpoint: mssim.EndpointToken, Status: 429, RetryAfter: 2 * time.Second}, 10 * time.Second},
	} {
		conn, err := w.conns(ctx, 1, true)
		if err != nil {
			return err
		}
		var fleet []*faultInstance // a fleet per scenario: its flights end with it
		for range 3 {
			in, err := w.start(ctx, w.dbURL, keyOld, 16)
			if err != nil {
				return err
			}
			fleet = append(fleet, in)
		}
		fault := w.ms.Sim.InjectFault(sc.fault)
		start := time.Now()
		t := newTally()
		lctx, stop := context.WithTimeout(ctx, sc.for_)
		var wg sync.WaitGroup
		for wk := range 30 {
			wg.Go(func() {
				for i := 0; lctx.Err() == nil; i++ {
					s, ra, took := fetch(lctx, tokenURL(fleet[(wk+i)%3], conn[0], ""), w.key)
					if lctx.Err() == nil {
						t.add("fetch", s, ra, took)
					}
					time.Sleep(50 * time.Millisecond)
				}
			})
		}
		wg.Wait()
		stop()
		n, gap := w.rec.since(start)
		for _, in := range fleet {
			in.close()
		}
		w.ms.Sim.ClearFault(fault)
		fmt.Fprintf(out, "| %s | %s | %s | %d | %s |\n", sc.name, sc.for_, t, n, ms(gap))
	}
	fmt.Fprintln(out)
	return nil
}

// Fault 4: Postgres unreachable for 10 s under load.
func outage(ctx context.Context, w *faultWorld, out io.Writer) error {
	proxied, cut, err := testdb.NewOutage(w.dbURL)
	if err != nil {
		return err
	}
	defer cut.Close()
	in, err := w.start(ctx, proxied, keyOld, 16)
	if err != nil {
		return err
	}
	defer in.close()
	warm, err := w.conns(ctx, 1, false)
	if err != nil {
		return err
	}
	cold, err := w.conns(ctx, 40, false)
	if err != nil {
		return err
	}
	newKeys := make([]string, 10)
	for i := range newKeys {
		if newKeys[i], err = w.newKey(ctx); err != nil {
			return err
		}
	}
	if s, _, _ := fetch(ctx, tokenURL(in, warm[0], ""), w.key); s != 200 {
		return fmt.Errorf("outage warm-up: HTTP %d", s)
	}
	t := newTally()
	cut.Cut()
	lctx, stop := context.WithTimeout(ctx, 10*time.Second)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for lctx.Err() == nil {
				s, ra, took := fetch(ctx, tokenURL(in, warm[0], ""), w.key)
				t.add("warm", s, ra, took)
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	var next atomic.Int64
	wg.Go(func() {
		for i := 0; lctx.Err() == nil; i++ {
			c := cold[int(next.Add(1))%len(cold)]
			s, ra, took := fetch(ctx, tokenURL(in, c, ""), w.key)
			t.add("uncached connection", s, ra, took)
			s, ra, took = fetch(ctx, tokenURL(in, warm[0], ""), newKeys[i%len(newKeys)])
			t.add("uncached key", s, ra, took)
			s, ra, took = fetch(ctx, tokenURL(in, warm[0], "?force_refresh=true"), w.key)
			t.add("forced refresh", s, ra, took)
			time.Sleep(250 * time.Millisecond)
		}
	})
	wg.Wait()
	stop()
	cut.Restore()
	back := time.Now()
	for {
		s, _, _ := fetch(ctx, tokenURL(in, cold[len(cold)-1], ""), newKeys[0])
		if s == 200 || time.Since(back) > 30*time.Second {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	recovered := time.Since(back)
	fmt.Fprintf(out, "## 4. Postgres unreachable for 10 s under load (one replica)\n\n")
	fmt.Fprintf(out, "8 workers fetch a token in memory; one worker, every 0.25 s, fetches a connection not in memory, uses an API key not in memory, and forces a refresh of the token in memory.\n\n")
	fmt.Fprintf(out, "| answers during the outage | 500s | first uncached fetch 200 after Postgres is back |\n|---|---:|---:|\n| %s | %d | %s |\n\n",
		t, t.sum(" 500"), ms(recovered))
	return nil
}
