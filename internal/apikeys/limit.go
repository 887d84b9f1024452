package apikeys

import (
	"sync/atomic"
	"time"
)

// limiter is a per-key rate limit by the generic cell rate algorithm: one
// atomic "theoretical arrival time", no lock and no goroutine, so it costs a
// compare-and-swap on the token endpoint's hot path.
type limiter struct {
	tat       atomic.Int64 // unix nanos
	interval  int64        // nanos per request; 0 = unlimited
	tolerance int64        // how far tat may run ahead of now: the burst
}

func newLimiter(rate float64, burst int) limiter {
	if rate <= 0 {
		return limiter{}
	}
	interval := int64(float64(time.Second) / rate)
	return limiter{interval: interval, tolerance: interval * int64(max(burst, 1))}
}

// allow takes one request's slot, or says how long until one is free.
func (l *limiter) allow(now int64) (bool, time.Duration) {
	if l.interval == 0 {
		return true, 0
	}
	for {
		old := l.tat.Load()
		tat := max(old, now) + l.interval
		if ahead := tat - now; ahead > l.tolerance {
			return false, time.Duration(ahead - l.tolerance)
		}
		if l.tat.CompareAndSwap(old, tat) {
			return true, 0
		}
	}
}
