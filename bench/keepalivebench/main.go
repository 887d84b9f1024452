// Command keepalivebench measures the keep-alive at scale as deployed
// (`make bench-keepalive`): the simulated Microsoft runs as its own
// process (`broker simulate-microsoft`, every refresh answered after
// -latency), each replica's keep-alive in another (this binary again, with
// -replica), on a database seeded with internal/devseed. It reports
// refreshes per second per replica, statements per refresh (claims apart
// from the refreshes' own), the CPU each process took and the load
// average, for one replica and then two sharing the same backlog; two
// must refresh no row twice (the simulation's counter, the replicas' and
// the database's agree). The database is dropped at the end.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"
)

const ringText = "bench:YmVuY2htYXJrLW9ubHktZW5jcnlwdGlvbi1rZXkhISE="

type config struct {
	connections, due int
	latency, maxFor  time.Duration
	replicas         []int
	inFlight, conc   int
	throttle         bool
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-replica" {
		if err := replica(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "keepalivebench replica:", err)
			os.Exit(1)
		}
		return
	}
	var c config
	var reps string
	flag.IntVar(&c.connections, "connections", 100_000, "connections to seed, e.g. 1000000")
	flag.IntVar(&c.due, "due", 12_000, "connections made due (in use, token expiring) before each phase")
	flag.DurationVar(&c.latency, "latency", 50*time.Millisecond, "latency the simulated token endpoint adds")
	flag.DurationVar(&c.maxFor, "duration", 90*time.Second, "longest a phase runs")
	flag.StringVar(&reps, "replicas", "1,2", "replica counts to run, one phase each")
	flag.IntVar(&c.inFlight, "max-in-flight", 0, "BROKER_REFRESH_MAX_IN_FLIGHT of each replica (0: the server's default)")
	flag.IntVar(&c.conc, "concurrency", 0, "keep-alive concurrency (0: the default, half of max-in-flight)")
	flag.BoolVar(&c.throttle, "throttle", true, "also run a phase where the simulation answers a share of refreshes 429 with Retry-After")
	flag.Parse()
	for _, r := range strings.Split(reps, ",") {
		var n int
		fmt.Sscan(r, &n)
		if n > 0 {
			c.replicas = append(c.replicas, n)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "keepalivebench:", err)
		os.Exit(1)
	}
}
