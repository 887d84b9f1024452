// Command proxybench measures the Graph proxy (`make bench`). It builds the
// broker, starts the simulated Microsoft (`broker simulate-microsoft`) and
// the broker (`broker serve`, default configuration) as separate processes
// on loopback, signs mailboxes in, then drives the same Graph call two
// ways in alternating rounds: straight to the simulated Graph with a token
// from the broker, and through the broker's proxy with an API key. It
// prints a Markdown report: calls per second and latency (p50/p99) of each,
// and what the proxy adds.
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
	duration time.Duration
	rounds   int
	mailbox  int // workers per mailbox in the throughput phase (Outlook allows 4)
}

func main() {
	var c config
	flag.DurationVar(&c.duration, "duration", 4*time.Second, "length of each load phase")
	flag.IntVar(&c.rounds, "rounds", 3, "rounds of direct and proxied load, alternating")
	flag.IntVar(&c.mailbox, "per-mailbox", 4, "concurrent callers per mailbox in the throughput phase (at most 4)")
	flag.Parse()
	c.mailbox = min(max(c.mailbox, 1), 4)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "proxybench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	w, err := setUp(ctx)
	if err != nil {
		return err
	}
	defer w.close()
	out := os.Stdout
	fmt.Fprintf(out, "# Graph proxy benchmark\n\n%s\n", machine())
	fmt.Fprintf(out, "Processes: the simulated Microsoft (`broker simulate-microsoft`) and the broker (`broker serve`, default "+
		"configuration) each in its own process on loopback; the load generator is this program. The call is "+
		"`GET /v1.0/me/messages?$top=1` (a 300-byte JSON answer). Direct: to the simulated Graph with a token fetched "+
		"from the broker once. Proxied: to `/api/v1/connections/{id}/graph/v1.0/me/messages?$top=1` with an API key "+
		"(twelve keys in turn, so the per-key rate limit of 2,000/s is not what is measured). Rounds alternate direct and "+
		"proxied, %d rounds of %s each; percentiles over every call of a row.\n\n", c.rounds, c.duration)
	return phases(ctx, c, w, out)
}
