package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// result is one mode's numbers over all its rounds.
type result struct {
	requests, failures int
	elapsed            time.Duration
	lat                []time.Duration
	statuses           map[int]int // of the failures; 0: no answer
}

func (r *result) add(o result) {
	r.requests += o.requests
	r.failures += o.failures
	r.elapsed += o.elapsed
	r.lat = append(r.lat, o.lat...)
	if r.statuses == nil {
		r.statuses = map[int]int{}
	}
	for k, v := range o.statuses {
		r.statuses[k] += v
	}
}

func (r *result) rate() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r *result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	slices.Sort(r.lat)
	return r.lat[min(len(r.lat)-1, int(float64(len(r.lat))*p))]
}

// phases runs the latency phase (one caller) and the throughput phase (four
// callers per mailbox, Outlook's concurrency limit) and prints both.
func phases(ctx context.Context, c config, w *world, out io.Writer) error {
	tokens := make([]string, len(w.conns))
	for i, conn := range w.conns {
		t, err := w.token(ctx, conn)
		if err != nil {
			return err
		}
		tokens[i] = t
	}
	direct := func(i int) *http.Request {
		req, _ := http.NewRequest("GET", w.simURL+"/v1.0/me/messages?$top=1", nil)
		req.Header.Set("Authorization", "Bearer "+tokens[i])
		return req
	}
	var calls atomic.Int64
	proxied := func(i int) *http.Request {
		req, _ := http.NewRequest("GET", w.brokerURL+"/api/v1/connections/"+w.conns[i]+"/graph/v1.0/me/messages?$top=1", nil)
		// Keys in turn: one caller alone may outrun a key's 2,000 requests/s.
		req.Header.Set("Authorization", "Bearer "+w.keys[calls.Add(1)%int64(len(w.keys))])
		return req
	}
	fmt.Fprintln(out, "| Phase | Path | Calls/s | p50 | p99 | Failed | Calls |")
	fmt.Fprintln(out, "|---|---|---:|---:|---:|---:|---:|")
	for _, ph := range []struct {
		name    string
		workers int
		mailbox func(worker int) int
	}{
		{"one caller, one mailbox", 1, func(int) int { return 0 }},
		{fmt.Sprintf("%d callers, %d mailboxes", c.mailbox*len(w.conns), len(w.conns)), c.mailbox * len(w.conns),
			func(worker int) int { return worker % len(w.conns) }},
	} {
		client := newClient(ph.workers)
		load(ctx, client, ph.workers, time.Second, func(wk int) *http.Request { return proxied(ph.mailbox(wk)) }) // warm-up
		load(ctx, client, ph.workers, time.Second, func(wk int) *http.Request { return direct(ph.mailbox(wk)) })
		var d, p result
		for range c.rounds {
			d.add(load(ctx, client, ph.workers, c.duration, func(wk int) *http.Request { return direct(ph.mailbox(wk)) }))
			p.add(load(ctx, client, ph.workers, c.duration, func(wk int) *http.Request { return proxied(ph.mailbox(wk)) }))
		}
		for _, row := range []struct {
			name string
			r    *result
		}{{"direct to Graph", &d}, {"through the proxy", &p}} {
			failed := fmt.Sprint(row.r.failures)
			if row.r.failures > 0 {
				failed += fmt.Sprintf(" (by status %v)", row.r.statuses)
			}
			fmt.Fprintf(out, "| %s | %s | %.0f | %s | %s | %s | %d |\n", ph.name, row.name, row.r.rate(),
				ms(row.r.pct(0.50)), ms(row.r.pct(0.99)), failed, row.r.requests)
		}
		fmt.Fprintf(out, "| %s | **added by the proxy** | %+.0f%% | **%s** | **%s** | | |\n", ph.name,
			100*(p.rate()/d.rate()-1), ms(p.pct(0.50)-d.pct(0.50)), ms(p.pct(0.99)-d.pct(0.99)))
	}
	fmt.Fprintln(out)
	return nil
}

// newClient keeps one keep-alive connection per worker.
func newClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns,
		MaxConnsPerHost: conns, IdleConnTimeout: time.Minute, DisableCompression: true}}
}

// load runs workers in closed loops for d and records each call's latency;
// anything but 200 is a failure.
func load(ctx context.Context, client *http.Client, workers int, d time.Duration, req func(worker int) *http.Request) result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	lat := make([][]time.Duration, workers)
	fails := make([]map[int]int, workers)
	start := time.Now()
	for wk := range workers {
		fails[wk] = map[int]int{}
		wg.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				resp, err := client.Do(req(wk).WithContext(ctx))
				if err != nil {
					if ctx.Err() == nil {
						fails[wk][0]++
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					fails[wk][resp.StatusCode]++
				}
				lat[wk] = append(lat[wk], time.Since(t0))
			}
		})
	}
	wg.Wait()
	r := result{elapsed: time.Since(start), statuses: map[int]int{}}
	for wk := range workers {
		r.lat = append(r.lat, lat[wk]...)
		for st, n := range fails[wk] {
			r.failures += n
			r.statuses[st] += n
		}
	}
	r.requests = len(r.lat)
	return r
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
