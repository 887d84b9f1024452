package main

import (
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/secrets"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tokens"
)

// replicaResult is what one replica process reports on stdout, as JSON.
type replicaResult struct {
	Handled, Refreshed, Upstream int64
	Seconds                      float64 // from the start to the end of its last busy scan
	ClaimQueries, OwnQueries     int64   // statements on the keep-alive's pool, on the request pool
	CPUSeconds                   float64 // user + system of this process
	Concurrency                  int
	PoolWaitMS                   float64 // mean wait for a request-pool connection
}

// counter is a pgx tracer counting statements (BEGIN and COMMIT included).
type counter struct{ n atomic.Int64 }

func (c *counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// replica runs one replica's keep-alive as the server wires it (a pool of
// 16 for the request path, where refreshes finish, and the background pool
// of 3 the claims use; MaxRefreshes as BROKER_REFRESH_MAX_IN_FLIGHT) against
// the simulation in its own process, until the due backlog is gone or the
// time is up, and prints its counts.
func replica(args []string) error {
	fs := flag.NewFlagSet("replica", flag.ExitOnError)
	dbURL := fs.String("db", "", "database URL")
	simURL := fs.String("sim", "", "simulated Microsoft's URL")
	startAt := fs.Int64("start-at", 0, "unix milliseconds to start at (replicas start together)")
	maxFor := fs.Duration("duration", time.Minute, "longest run")
	inFlight := fs.Int("max-in-flight", 0, "MaxRefreshes (BROKER_REFRESH_MAX_IN_FLIGHT)")
	conc := fs.Int("concurrency", 0, "KeepAliveOptions.Concurrency (0: the default)")
	drain := fs.Duration("drain", 0, "keep scanning until nothing was due for this long (rows held off by a Retry-After come back); 0: stop once a scan finds less than a batch")
	fs.Parse(args)
	ctx := context.Background()
	ring, _ := secrets.ParseRing(ringText)
	var claims, own counter
	st, err := store.Open(ctx, *dbURL, ring, store.Options{MaxConns: 16, Tracer: &own})
	if err != nil {
		return err
	}
	defer st.Close()
	bg, err := store.Open(ctx, *dbURL, ring, store.Options{MaxConns: 3, Tracer: &claims})
	if err != nil {
		return err
	}
	defer bg.Close()
	p := &oauth.Microsoft{LoginBase: *simURL, GraphBase: *simURL, ClientID: mssim.DemoWebClientID,
		ClientSecret: mssim.DemoWebClientSecret, RedirectURL: mssim.DemoRedirectURI, HTTPClient: oauth.NewHTTPClient()}
	svc := tokens.New(st, p, tokens.Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		MaxRefreshes: *inFlight})
	defer svc.Close()
	ka := svc.KeepAlive(tokens.KeepAliveOptions{Store: bg, Concurrency: *conc})
	time.Sleep(time.Until(time.UnixMilli(*startAt)))
	claims0, own0 := claims.n.Load(), own.n.Load()
	start := time.Now()
	end := start
	handled := 0
	idleSince := time.Now()
	for time.Since(start) < *maxFor {
		n, err := ka.RunOnce(ctx)
		if err != nil {
			return err
		}
		handled += n
		if n > 0 {
			end, idleSince = time.Now(), time.Now()
		}
		if *drain == 0 && n < ka.Concurrency() {
			break // the backlog is gone (rows falling due meanwhile come a few a second)
		}
		if *drain > 0 && time.Since(idleSince) > *drain {
			break
		}
		if n == 0 {
			time.Sleep(250 * time.Millisecond)
		}
	}
	s := svc.Stats()
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return json.NewEncoder(os.Stdout).Encode(replicaResult{Handled: int64(handled), Refreshed: s.Refreshed, Upstream: s.Upstream,
		Seconds: end.Sub(start).Seconds(), ClaimQueries: claims.n.Load() - claims0, OwnQueries: own.n.Load() - own0,
		CPUSeconds: cpu.Seconds(), Concurrency: ka.Concurrency(),
		PoolWaitMS: float64(st.Pool().Stat().AcquireDuration().Milliseconds()) / float64(max(st.Pool().Stat().AcquireCount(), 1))})
}
