package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/brokerhq/broker/bench/benchkit"
	brokerconfig "github.com/brokerhq/broker/internal/config"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/secrets"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

// keepAlive runs one replica's keep-alive worker as the server wires it
// (its own pool of 3, MaxRefreshes as BROKER_REFRESH_MAX_IN_FLIGHT's
// default) against the simulation answering each refresh after c.latency.
func keepAlive(ctx context.Context, c config, dbURL string, ring *secrets.Ring, st *store.Store, ms *tokenstest.Microsoft, out io.Writer) error {
	ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, Latency: c.latency})
	bg, err := store.Open(ctx, dbURL, ring, store.Options{MaxConns: 3})
	if err != nil {
		return err
	}
	defer bg.Close()
	svc := tokens.New(st, ms.Provider(), tokens.Options{Logger: slog.New(slog.DiscardHandler),
		MaxRefreshes: brokerconfig.DefaultRefreshMaxInFlight})
	defer svc.Close()
	ka := svc.KeepAlive(tokens.KeepAliveOptions{Store: bg})
	load := benchkit.LoadAverage()
	acq0, own0 := bg.Pool().Stat().AcquireCount(), st.Pool().Stat().AcquireCount()
	kctx, cancel := context.WithTimeout(ctx, c.keepAlive)
	defer cancel()
	start := time.Now()
	handled := 0
	for kctx.Err() == nil {
		n, err := ka.RunOnce(kctx)
		handled += n
		if err != nil && kctx.Err() == nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	elapsed := time.Since(start)
	s := svc.Stats()
	claims := bg.Pool().Stat().AcquireCount() - acq0
	own := st.Pool().Stat().AcquireCount() - own0
	fmt.Fprintf(out, "## Keep-alive, one replica\n\nSimulated token endpoint latency %s; %s of scans (or until nothing was due). "+
		"Handled %d connections, %d refreshed at Microsoft: **%.0f refreshes/s**. Claim transactions (one statement "+
		"claims and leases a batch of up to %d): %d, %.2f per refresh; the refreshes' own transactions (finish): %d. "+
		"In process, the simulation signing on the same cores: `make bench-keepalive` runs it in its own process. "+
		"Load average before %s, after %s.\n\n", c.latency, c.keepAlive, handled, s.Refreshed,
		float64(s.Refreshed)/elapsed.Seconds(), ka.Concurrency(), claims, float64(claims)/float64(max(s.Refreshed, 1)), own, load, benchkit.LoadAverage())
	return nil
}
