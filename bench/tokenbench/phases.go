package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/brokerhq/broker/internal/oauth/mssim"
)

// counters is what proves a warm fetch touches neither Postgres nor Microsoft.
type counters struct {
	loads, lookups, upstream, acquires int64
}

func snapshot(w *world, in *instance) counters {
	return counters{loads: in.svc.Stats().Loads, lookups: in.keys.Lookups(),
		upstream: w.ms.Sim.Count(mssim.EndpointToken, ""), acquires: in.st.Pool().Stat().AcquireCount()}
}

func (a counters) minus(b counters) counters {
	return counters{a.loads - b.loads, a.lookups - b.lookups, a.upstream - b.upstream, a.acquires - b.acquires}
}

func warmVersusCeiling(ctx context.Context, c config, w *world, out io.Writer) error {
	in := w.instances[0]
	client := newClient(c.conns)
	resp, err := client.Do(get(w.tokenURL(in, w.warm), w.key))
	if err != nil {
		return err
	}
	var body tokenBody
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("first token fetch: HTTP %d %v", resp.StatusCode, err)
	}
	bare, stopBare, err := bareServer(body)
	if err != nil {
		return err
	}
	defer stopBare()
	warmReq := func(int) *http.Request { return get(w.tokenURL(in, w.warm), w.key) }
	bareReq := func(int) *http.Request { return get(bare, "") }
	load(ctx, client, c.conns, time.Second, bareReq, nil) // open connections, warm up both
	load(ctx, client, c.conns, time.Second, warmReq, nil)

	// Background loops query on their own schedule; an idle window of the
	// same length shows how many pool acquisitions are theirs.
	idle0 := snapshot(w, in)
	sleep(ctx, c.duration)
	idle := snapshot(w, in).minus(idle0)

	fmt.Fprintf(out, "## Warm token fetches against the ceiling\n\n")
	fmt.Fprintf(out, "Rounds alternate the two servers, so both see the same machine load.\n\n")
	fmt.Fprintf(out, "| round | server | fetches/s | p50 | p99 | failed | broker / ceiling |\n|---|---|---:|---:|---:|---:|---:|\n")
	var ratios []float64
	var during counters
	var fetches int
	for round := 1; round <= c.rounds; round++ {
		b := load(ctx, client, c.conns, c.duration, bareReq, nil)
		before := snapshot(w, in)
		r := load(ctx, client, c.conns, c.duration, warmReq, nil)
		d := snapshot(w, in).minus(before)
		during.loads, during.lookups, during.upstream = during.loads+d.loads, during.lookups+d.lookups, during.upstream+d.upstream
		during.acquires += d.acquires
		fetches += r.requests
		ratios = append(ratios, r.rate()/b.rate())
		fmt.Fprintf(out, "| %d | bare net/http (ceiling) | %.0f | %s | %s | %d | |\n", round, b.rate(), ms(b.p50), ms(b.p99), b.failures)
		fmt.Fprintf(out, "| %d | broker, warm token | %.0f | %s | %s | %d | %.0f%% |\n", round, r.rate(), ms(r.p50), ms(r.p99), r.failures,
			100*r.rate()/b.rate())
	}
	slices.Sort(ratios)
	fmt.Fprintf(out, "\nWarm fetches reach **%.0f%%** of the ceiling's rate (median of %d rounds).\n\n", 100*ratios[len(ratios)/2], c.rounds)
	fmt.Fprintf(out, "Counters over the %d warm fetches (broker instance 1):\n\n", fetches)
	fmt.Fprintf(out, "| counter | during warm load (%d × %s) | idle, no load (1 × %s) |\n|---|---:|---:|\n", c.rounds, c.duration, c.duration)
	fmt.Fprintf(out, "| connection reads from Postgres (token path) | %d | %d |\n", during.loads, idle.loads)
	fmt.Fprintf(out, "| API key lookups in Postgres | %d | %d |\n", during.lookups, idle.lookups)
	fmt.Fprintf(out, "| requests to the (simulated) Microsoft token endpoint | %d | %d |\n", during.upstream, idle.upstream)
	fmt.Fprintf(out, "| pool acquisitions, all queries (background loops: change poll, revocation poll, flushes) | %d | %d |\n\n",
		during.acquires, idle.acquires)
	return nil
}

func cacheMisses(ctx context.Context, c config, w *world, out io.Writer) {
	in := w.instances[0]
	client := newClient(c.conns)
	before := snapshot(w, in)
	// Each worker has its own connection and drops it from memory before
	// each request (untimed), so each fetch reads Postgres and decrypts.
	r := load(ctx, client, c.conns, c.duration,
		func(i int) *http.Request { return get(w.tokenURL(in, w.misses[i]), w.key) },
		func(i int) { in.svc.Invalidate(w.misses[i]) })
	d := snapshot(w, in).minus(before)
	fmt.Fprintf(out, "## Cache-miss fetches (Postgres read + decrypt, token still valid)\n\n")
	fmt.Fprintf(out, "| fetches/s | p50 | p99 | connection reads | upstream requests | failed |\n|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(out, "| %.0f | %s | %s | %d of %d fetches | %d | %d |\n\n", r.rate(), ms(r.p50), ms(r.p99), d.loads, r.requests,
		d.upstream, r.failures)
}

func refreshStorms(ctx context.Context, c config, w *world, out io.Writer) error {
	fault := w.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, Latency: c.stormLatency})
	defer w.ms.Sim.ClearFault(fault)
	client := newClient(c.callers)
	fmt.Fprintf(out, "## Refresh storm: %d callers, %d instances, expired token, token endpoint latency %s\n\n",
		c.callers, c.instances, c.stormLatency)
	fmt.Fprintf(out, "| storm | time until all %d callers answered | refreshes at Microsoft | distinct tokens served | failed | claim transactions (all instances) |\n|---:|---:|---:|---:|---:|---:|\n", c.callers)
	claims := func() (n int64) {
		for _, in := range w.instances {
			n += in.svc.Stats().Claims
		}
		return n
	}
	for i, conn := range w.storms {
		before, claimed := w.ms.Sim.Count(mssim.EndpointToken, "refresh_token"), claims()
		elapsed, distinct, failed := storm(ctx, client, w, conn, c.callers)
		refreshes := w.ms.Sim.Count(mssim.EndpointToken, "refresh_token") - before
		fmt.Fprintf(out, "| %d | %s | %d | %d | %d | %d |\n", i+1, ms(elapsed), refreshes, distinct, failed, claims()-claimed)
	}
	fmt.Fprintln(out)
	return nil
}
