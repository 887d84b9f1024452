// Command scalebench measures the broker's background and admin work on a
// database of many connections (`make bench-scale`): it seeds one
// (internal/devseed, COPY), then times the admin list's first page, status
// counts and search, the change poll and usage flush statements, the
// memory of a cached connection, and keep-alive refreshes per second
// against the simulated Microsoft answering with added latency. The
// database is dropped at the end.
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
	connections int
	latency     time.Duration
	keepAlive   time.Duration
	cached      int
	dbPrefix    string
}

func main() {
	var c config
	flag.IntVar(&c.connections, "connections", 100_000, "connections to seed, e.g. 1000000")
	flag.DurationVar(&c.latency, "latency", 50*time.Millisecond, "latency the simulated token endpoint adds")
	flag.DurationVar(&c.keepAlive, "keepalive", 20*time.Second, "how long the keep-alive phase runs")
	flag.IntVar(&c.cached, "cached", 20_000, "connections loaded into memory to measure an entry's size")
	flag.StringVar(&c.dbPrefix, "db-prefix", "broker_scalebench", "name prefix of the bench's own database (dropped at the end)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "scalebench:", err)
		os.Exit(1)
	}
}
