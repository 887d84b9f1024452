// Command deployedbench measures warm token fetches as deployed (`make
// bench`): the real `broker` binary, built once, runs `broker serve` with its
// default configuration (rate limit, request IDs, metrics, access log as
// shipped) beside `broker simulate-microsoft`, each its own process; a bare
// net/http server answering the same JSON is the ceiling, in a process of
// its own too. A load generator process (wrk where installed, else this
// program's Go one) drives both in alternating rounds, rotating 64 API keys
// over the seeded connections so no key meets its limit. It prints a
// Markdown report: req/s, p50 and p99 per round, the load average beside
// each, and the broker/ceiling ratios.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"
)

type config struct {
	duration   time.Duration
	rounds     int
	conns      int
	threads    int
	keys       int
	mailboxes  int
	background int    // other connections in the database (devseed), as at scale
	goLoad     bool   // the Go load generator even where wrk is installed
	dbPrefix   string // the bench database's name prefix
	ceilingOn  string // internal: serve the ceiling on this address
	ceilingDoc string // internal: the body the ceiling answers, a file
}

func main() {
	var c config
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "length of each round")
	flag.IntVar(&c.rounds, "rounds", 3, "rounds per server, alternating ceiling and broker")
	flag.IntVar(&c.conns, "conns", 64, "keep-alive connections of the load generator")
	flag.IntVar(&c.threads, "threads", 2, "load generator threads (wrk -t)")
	flag.IntVar(&c.keys, "keys", 64, "API keys used in turn")
	flag.IntVar(&c.mailboxes, "connections", 3, "connections fetched in turn (one simulated mailbox each, at most 3)")
	flag.IntVar(&c.background, "background", 0, "other connections seeded in the database first (e.g. 1000000: warm fetches with a million rows beside them)")
	flag.BoolVar(&c.goLoad, "go", false, "use the Go load generator even where wrk is installed")
	flag.StringVar(&c.dbPrefix, "db-prefix", "broker_deployedbench", "name prefix of the bench's own database (dropped at the end)")
	flag.StringVar(&c.ceilingOn, "serve-ceiling", "", "internal: serve the bare ceiling on this address")
	flag.StringVar(&c.ceilingDoc, "ceiling-body", "", "internal: file with the JSON the ceiling answers")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	if c.ceilingOn != "" {
		err = serveCeiling(ctx, c.ceilingOn, c.ceilingDoc)
	} else {
		err = run(ctx, c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "deployedbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	c.mailboxes = min(max(c.mailboxes, 1), len(mailboxes))
	w, err := setUp(ctx, c)
	if err != nil {
		return err
	}
	defer w.close()
	gen := newLoadGen(c)
	out := os.Stdout
	fmt.Fprintf(out, "# Warm token fetches as deployed\n\n%s\n", w.machine)
	fmt.Fprintf(out, "Processes: `broker serve` (default configuration: per-key limit %s, request IDs, metrics, access log), "+
		"`broker simulate-microsoft`, the bare `net/http` ceiling (same JSON body, encoded per request) and the load "+
		"generator (%s, %d threads, %d keep-alive connections), each its own process on loopback. %d API keys and %d "+
		"connections in turn. Rounds alternate ceiling and broker, %d rounds of %s each.\n\n",
		"2,000/s, burst 200", gen.name(), c.threads, c.conns, c.keys, c.mailboxes, c.rounds, c.duration)
	// Open connections and warm caches; not reported.
	if _, err := gen.run(ctx, w.ceilingURL, w, 2*time.Second); err != nil {
		return err
	}
	if _, err := gen.run(ctx, w.brokerURL, w, 2*time.Second); err != nil {
		return err
	}
	return report(ctx, c, w, gen, out)
}
