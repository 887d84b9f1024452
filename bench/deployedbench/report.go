package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/brokerhq/broker/bench/benchkit"
)

// result is one round's numbers.
type result struct {
	rate       float64 // requests per second
	p50, p99   time.Duration
	requests   int64
	non2xx     int64
	loadBefore string
}

func report(ctx context.Context, c config, w *world, gen loadGen, out io.Writer) error {
	fmt.Fprintf(out, "| round | server | req/s | p50 | p99 | non-2xx | load average (1/5/15 min) before |\n|---|---|---:|---:|---:|---:|---|\n")
	var bare, broker []result
	for i := range c.rounds {
		for _, s := range []struct {
			name, url string
			into      *[]result
		}{{"ceiling", w.ceilingURL, &bare}, {"broker", w.brokerURL, &broker}} {
			load := benchkit.LoadAverage()
			r, err := gen.run(ctx, s.url, w, c.duration)
			if err != nil {
				return fmt.Errorf("%s round %d: %w", s.name, i+1, err)
			}
			r.loadBefore = load
			*s.into = append(*s.into, r)
			fmt.Fprintf(out, "| %d | %s | %.0f | %s | %s | %d | %s |\n", i+1, s.name, r.rate, ms(r.p50), ms(r.p99), r.non2xx, load)
		}
	}
	mb, mc := median(broker), median(bare)
	fmt.Fprintf(out, "\nMedians: broker %.0f req/s (p50 %s, p99 %s), ceiling %.0f req/s (p50 %s, p99 %s).\n",
		mb.rate, ms(mb.p50), ms(mb.p99), mc.rate, ms(mc.p50), ms(mc.p99))
	fmt.Fprintf(out, "**Broker / ceiling: rate %.0f%% (goal ≥ 80%%), p99 %.2f× (goal ≤ 1.5×).** Per round:", 100*mb.rate/mc.rate,
		float64(mb.p99)/float64(mc.p99))
	for i := range broker {
		fmt.Fprintf(out, " %.0f%%/%.2f×", 100*broker[i].rate/bare[i].rate, float64(broker[i].p99)/float64(bare[i].p99))
	}
	fmt.Fprintf(out, ".\nLoad average after: %s.\n", benchkit.LoadAverage())
	var non2xx int64
	for _, r := range broker {
		non2xx += r.non2xx
	}
	if non2xx > 0 {
		return fmt.Errorf("the broker answered %d requests with other than 2xx: see %s", non2xx, w.logs)
	}
	return nil
}

// median takes each figure's median over the rounds.
func median(rs []result) result {
	pick := func(f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return result{rate: pick(func(r result) float64 { return r.rate }),
		p50: time.Duration(pick(func(r result) float64 { return float64(r.p50) })),
		p99: time.Duration(pick(func(r result) float64 { return float64(r.p99) }))}
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}
