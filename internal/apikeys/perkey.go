package apikeys

import (
	"sync"
	"time"
)

// PerKey is a rate limit of its own per key, for one costly action (such as
// creating connect sessions), apart from the key's overall request rate.
type PerKey struct {
	rate  float64
	burst int
	m     sync.Map // key ID → *limiter
}

// NewPerKey allows each key rate actions a second, burst at once.
func NewPerKey(rate float64, burst int) *PerKey { return &PerKey{rate: rate, burst: burst} }

// Allow takes one action of keyID's, or says how long until one is free.
func (p *PerKey) Allow(keyID string, now time.Time) (bool, time.Duration) {
	v, ok := p.m.Load(keyID)
	if !ok {
		l := newLimiter(p.rate, p.burst)
		v, _ = p.m.LoadOrStore(keyID, &l)
	}
	return v.(*limiter).allow(now.UnixNano())
}
