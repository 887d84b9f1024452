package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// result is one load phase's numbers.
type result struct {
	requests, failures int
	elapsed            time.Duration
	p50, p99           time.Duration
}

func (r result) rate() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// newClient keeps one idle connection per worker, so every request reuses a
// loopback keep-alive connection, as a service calling the broker would.
func newClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns,
		MaxConnsPerHost: conns, IdleConnTimeout: time.Minute, DisableCompression: true}}
}

// load runs conns workers in closed loops for d; each request is built by
// req(worker) and may be preceded by before(worker) (untimed). Latency is
// recorded per request.
func load(ctx context.Context, client *http.Client, conns int, d time.Duration,
	req func(worker int) *http.Request, before func(worker int)) result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	lat := make([][]time.Duration, conns)
	fails := make([]int, conns)
	start := time.Now()
	for w := range conns {
		wg.Go(func() {
			samples := make([]time.Duration, 0, 1<<16)
			for ctx.Err() == nil {
				if before != nil {
					before(w)
				}
				t0 := time.Now()
				resp, err := client.Do(req(w))
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						fails[w]++
					}
				}
				if err != nil {
					if ctx.Err() != nil {
						break
					}
					fails[w]++
					continue
				}
				samples = append(samples, time.Since(t0))
			}
			lat[w] = samples
		})
	}
	wg.Wait()
	all := slices.Concat(lat...)
	slices.Sort(all)
	r := result{requests: len(all), elapsed: time.Since(start)}
	for _, f := range fails {
		r.failures += f
	}
	if len(all) > 0 {
		r.p50, r.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	return r
}

// get builds a GET with the API key.
func get(url, key string) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return req
}
