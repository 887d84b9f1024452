// Command tokenbench measures the token endpoint (`make bench`). In one
// process it starts the simulated Microsoft, a fresh migrated database,
// broker instances wired as the server wires them, and a bare net/http
// server answering the same JSON (the machine's ceiling), all on loopback;
// then it drives them with a closed-loop Go load generator and prints a
// Markdown report: warm fetches against the ceiling with the counters that
// prove a warm fetch costs no query and no upstream call, cache-miss
// fetches, and the refresh storm across instances.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"time"

	"github.com/brokerhq/broker/bench/benchkit"
	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/secrets"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

type config struct {
	duration     time.Duration
	conns        int
	instances    int
	callers      int
	storms       int
	stormLatency time.Duration
	rounds       int
	faults       bool
}

func main() {
	var c config
	flag.DurationVar(&c.duration, "duration", 5*time.Second, "length of each load phase")
	flag.IntVar(&c.conns, "conns", 32, "concurrent keep-alive connections of the load generator")
	flag.IntVar(&c.instances, "instances", 3, "broker instances sharing the database (refresh storm)")
	flag.IntVar(&c.callers, "callers", 500, "concurrent callers in the refresh storm")
	flag.IntVar(&c.storms, "storms", 5, "refresh storms to run")
	flag.IntVar(&c.rounds, "rounds", 3, "rounds of ceiling and warm load")
	flag.DurationVar(&c.stormLatency, "storm-latency", 50*time.Millisecond, "latency of the simulated token endpoint in the storm")
	flag.BoolVar(&c.faults, "faults", false, "run the fault benchmark instead (make bench-faults)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tokenbench:", err)
		os.Exit(1)
	}
}

// world is everything a run sets up.
type world struct {
	ms        *tokenstest.Microsoft
	instances []*instance
	key       string
	warm      string   // a connection whose token stays warm
	misses    []string // one connection per load worker, for cache misses
	storms    []string // expired connections, one per storm
	dbName    string
}

func run(ctx context.Context, c config, out io.Writer) error {
	adminURL := os.Getenv("BROKER_TEST_DATABASE_URL")
	if adminURL == "" {
		adminURL = testdb.DefaultURL
	}
	dbURL, drop, err := benchkit.Create(ctx, adminURL, "broker_bench")
	if err != nil {
		return err
	}
	defer drop()
	if c.faults {
		return runFaults(ctx, dbURL, out)
	}
	w, err := setUp(ctx, c, dbURL)
	if err != nil {
		return err
	}
	defer w.ms.Server.Close()
	for _, in := range w.instances {
		defer in.close()
	}
	fmt.Fprintf(out, "# Token endpoint benchmark, in process (for profiling)\n\n%s\n", machine(ctx, dbURL))
	fmt.Fprintf(out, "The broker here is wired in this process with its rate limit far above the load; the figure as deployed is `bench/deployedbench`'s.\n\n")
	fmt.Fprintf(out, "Load: Go closed-loop client, %d keep-alive connections on loopback, %s per phase; broker and client share the machine.\n\n",
		c.conns, c.duration)
	if err := warmVersusCeiling(ctx, c, w, out); err != nil {
		return err
	}
	cacheMisses(ctx, c, w, out)
	return refreshStorms(ctx, c, w, out)
}

func setUp(ctx context.Context, c config, dbURL string) (*world, error) {
	w := &world{ms: tokenstest.StartMicrosoft()}
	st, err := store.Open(ctx, dbURL, mustRing(), store.Options{MaxConns: 4})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	tenant, err := st.CreateTenant(ctx, "bench", "Bench")
	if err != nil {
		return nil, err
	}
	project, err := st.CreateProject(ctx, tenant.ID, "Sales")
	if err != nil {
		return nil, err
	}
	if w.key, _, err = apikeys.Create(ctx, st, apikeys.NewKey{TenantID: tenant.ID, Name: "bench"}); err != nil {
		return nil, err
	}
	mk := func(name string, expired bool) (string, error) {
		conn, err := w.ms.Create(ctx, st, tokenstest.Conn{TenantID: tenant.ID, ProjectID: project.ID, Name: name,
			UPN: w.ms.Demo.Adele.UPN, Expired: expired})
		return conn.ID, err
	}
	if w.warm, err = mk("warm", false); err != nil {
		return nil, err
	}
	for i := range c.conns {
		id, err := mk(fmt.Sprintf("miss-%d", i), false)
		if err != nil {
			return nil, err
		}
		w.misses = append(w.misses, id)
	}
	for i := range c.storms {
		id, err := mk(fmt.Sprintf("storm-%d", i), true)
		if err != nil {
			return nil, err
		}
		w.storms = append(w.storms, id)
	}
	for range c.instances {
		in, err := startInstance(ctx, dbURL, w.ms)
		if err != nil {
			return nil, err
		}
		w.instances = append(w.instances, in)
	}
	return w, nil
}

func (w *world) tokenURL(in *instance, conn string) string {
	return in.url + "/api/v1/connections/" + conn + "/token"
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// machine describes where the numbers came from.
func machine(ctx context.Context, dbURL string) string {
	pg := "unknown"
	if st, err := store.Open(ctx, dbURL, mustRing(), store.Options{MaxConns: 1}); err == nil {
		st.Pool().QueryRow(ctx, "SHOW server_version").Scan(&pg)
		st.Close()
	}
	return fmt.Sprintf("Machine: %s, %d logical CPUs (GOMAXPROCS %d), Linux %s, %s, PostgreSQL %s on localhost TCP.\n",
		benchkit.CPU(), runtime.NumCPU(), runtime.GOMAXPROCS(0), benchkit.Kernel(), runtime.Version(), pg)
}

func mustRing() *secrets.Ring {
	r, err := secrets.ParseRing(ringText)
	if err != nil {
		panic(err)
	}
	return r
}
