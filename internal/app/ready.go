package app

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
)

// schemaCheck answers /readyz's "is the schema current?" from a cached
// result: /readyz is unauthenticated, so each probe must not open a database
// connection. A current schema stays current (migrations only move forward),
// so only a failed check is retried, at most every few seconds.
type schemaCheck struct {
	st  *store.Store
	now func() time.Time

	mu      sync.Mutex
	current bool
	checked time.Time
	lastErr error
}

const schemaRecheck = 5 * time.Second

func newSchemaCheck(st *store.Store, now func() time.Time) *schemaCheck {
	return &schemaCheck{st: st, now: now}
}

func (c *schemaCheck) ready(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current {
		return nil
	}
	if !c.checked.IsZero() && c.now().Sub(c.checked) < schemaRecheck {
		return c.lastErr
	}
	c.checked = c.now()
	c.lastErr = c.check(ctx)
	c.current = c.lastErr == nil
	return c.lastErr
}

func (c *schemaCheck) check(ctx context.Context) error {
	ok, err := c.st.SchemaCurrent(ctx)
	if err != nil {
		return web.Errorf(http.StatusServiceUnavailable, "database not reachable", err)
	}
	if !ok {
		return web.Errorf(http.StatusServiceUnavailable, "schema not current", nil)
	}
	return nil
}

// ready is /readyz's check beyond the database ping: 503 while shutting
// down, then the schema check.
func (a *App) ready(schema func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		if a.draining.Load() {
			return web.Errorf(http.StatusServiceUnavailable, "shutting down", nil)
		}
		return schema(ctx)
	}
}
