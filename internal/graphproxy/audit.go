package graphproxy

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/brokerhq/broker/internal/store"
)

// Audit counts proxied requests per hour, API key, connection and status,
// with the bytes each way, and flushes the counts to Postgres every few
// seconds: never a body, a path or a query, and never a query on the
// request's path. A proxied call costs a round trip to Graph, so one mutex
// is cheap beside it.
type Audit struct {
	st       *store.Store
	log      *slog.Logger
	interval time.Duration

	mu sync.Mutex
	m  map[auditKey]*store.GraphUsage
}

type auditKey struct {
	hour          int64
	keyID, connID string
	status        int
}

// NewAudit returns a recorder flushing every interval (default 5s) when Run.
func NewAudit(st *store.Store, logger *slog.Logger, interval time.Duration) *Audit {
	if logger == nil {
		logger = slog.Default()
	}
	if interval <= 0 {
		interval = 5 * time.Second
	}
	return &Audit{st: st, log: logger, interval: interval, m: map[auditKey]*store.GraphUsage{}}
}

// Record counts one request.
func (a *Audit) Record(tenantID, keyID, connID string, status int, bytesIn, bytesOut int64, at time.Time) {
	k := auditKey{hour: at.Unix() / 3600 * 3600, keyID: keyID, connID: connID, status: status}
	a.mu.Lock()
	defer a.mu.Unlock()
	u := a.m[k]
	if u == nil {
		u = &store.GraphUsage{TenantID: tenantID, Hour: time.Unix(k.hour, 0).UTC(), APIKeyID: keyID,
			ConnectionID: connID, Status: status, FirstAt: at}
		a.m[k] = u
	}
	u.Requests++
	u.BytesIn += bytesIn
	u.BytesOut += bytesOut
	if at.After(u.LastAt) {
		u.LastAt = at
	}
}

// Run flushes every interval until ctx ends, then once more.
func (a *Audit) Run(ctx context.Context) error {
	t := time.NewTicker(a.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			return a.Flush(fctx)
		case <-t.C:
			if err := a.Flush(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("graphproxy: audit flush failed; counts kept for the next one", "err", err)
			}
		}
	}
}

// Flush writes what was counted since the last flush; on failure the counts
// go back for the next one.
func (a *Audit) Flush(ctx context.Context) error {
	a.mu.Lock()
	m := a.m
	a.m = map[auditKey]*store.GraphUsage{}
	a.mu.Unlock()
	rows := make([]store.GraphUsage, 0, len(m))
	for _, u := range m {
		rows = append(rows, *u)
	}
	err := a.st.AddGraphUsage(ctx, rows)
	if err != nil {
		a.mu.Lock()
		for k, u := range m {
			if cur := a.m[k]; cur != nil {
				cur.Requests += u.Requests
				cur.BytesIn += u.BytesIn
				cur.BytesOut += u.BytesOut
				if u.FirstAt.Before(cur.FirstAt) {
					cur.FirstAt = u.FirstAt
				}
			} else {
				a.m[k] = u
			}
		}
		a.mu.Unlock()
	}
	return err
}
