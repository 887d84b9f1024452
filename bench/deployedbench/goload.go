package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// goLoad is the load generator where wrk is not installed: closed loops,
// one keep-alive connection each, rotating keys and connections as the wrk
// script does. It runs in this program's process, apart from the servers.
type goLoad struct {
	conns int
}

func (g *goLoad) name() string { return "Go closed-loop client" }

func (g *goLoad) run(ctx context.Context, base string, w *world, d time.Duration) (result, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: g.conns, MaxIdleConnsPerHost: g.conns,
		MaxConnsPerHost: g.conns, IdleConnTimeout: time.Minute, DisableCompression: true}}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		wg     sync.WaitGroup
		n      atomic.Int64
		non2xx atomic.Int64
		lat    = make([][]time.Duration, g.conns)
	)
	start := time.Now()
	for worker := range g.conns {
		wg.Go(func() {
			samples := make([]time.Duration, 0, 1<<15)
			for ctx.Err() == nil {
				i := int(n.Add(1))
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.tokenPath(i, base), nil)
				req.Header.Set("Authorization", "Bearer "+w.keys[i%len(w.keys)])
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					non2xx.Add(1)
				}
				samples = append(samples, time.Since(t0))
			}
			lat[worker] = samples
		})
	}
	wg.Wait()
	all := slices.Concat(lat...)
	slices.Sort(all)
	r := result{requests: int64(len(all)), rate: float64(len(all)) / time.Since(start).Seconds(), non2xx: non2xx.Load()}
	if len(all) > 0 {
		r.p50, r.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	return r, nil
}
