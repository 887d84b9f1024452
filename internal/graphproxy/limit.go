package graphproxy

import (
	"context"
	"sync"
	"time"
)

// limiter bounds the requests in flight per connection in this replica.
// Outlook allows 4 concurrent requests per app and mailbox and throttles the
// fifth with 429 (https://learn.microsoft.com/en-us/graph/throttling-limits#outlook-service-limits);
// queueing the fifth here briefly is cheaper than a round trip that Graph
// refuses. It is per replica on purpose: a count shared through Postgres
// would add a query to every proxied call; with N replicas a mailbox can
// see up to 4·N, and Graph's own 429 then passes through with its
// Retry-After (set BROKER_GRAPH_PROXY_CONCURRENCY to 4/N to avoid that).
type limiter struct {
	per int
	mu  sync.Mutex
	m   map[string]*slot
}

type slot struct {
	sem  chan struct{}
	refs int // holders and waiters; the slot is dropped at zero
}

func newLimiter(per int) *limiter { return &limiter{per: per, m: map[string]*slot{}} }

// acquire waits up to wait for a place; release must follow a true answer.
func (l *limiter) acquire(ctx context.Context, id string, wait time.Duration) bool {
	l.mu.Lock()
	s := l.m[id]
	if s == nil {
		s = &slot{sem: make(chan struct{}, l.per)}
		l.m[id] = s
	}
	s.refs++
	l.mu.Unlock()
	select {
	case s.sem <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case s.sem <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	l.drop(id, s)
	return false
}

func (l *limiter) release(id string) {
	l.mu.Lock()
	s := l.m[id]
	l.mu.Unlock()
	<-s.sem
	l.drop(id, s)
}

func (l *limiter) drop(id string, s *slot) {
	l.mu.Lock()
	if s.refs--; s.refs == 0 {
		delete(l.m, id)
	}
	l.mu.Unlock()
}
