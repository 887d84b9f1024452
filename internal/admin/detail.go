package admin

import (
	"context"
	"fmt"
	"time"

	"github.com/brokerhq/broker/internal/store"
)

// CallersWindow is how far back a connection's page counts its callers.
const CallersWindow = 7 * 24 * time.Hour

// Detail is what the admin sections of a connection's page show.
type Detail struct {
	Connection   store.Connection
	History      []store.StatusEventRow // newest first
	Callers      []store.CallerUsage    // API keys that fetched tokens within CallersWindow
	CallersSince time.Time
	Audit        []store.AuditEvent // the connection's audit events, newest first
	MoreAudit    bool               // older events exist: link to the audit page
	Actions      []Action           // what the viewer may do now
	Viewer       Viewer
}

// Detail loads a connection's history, callers, audit trail and the actions
// the viewer may take.
func (s *Service) Detail(ctx context.Context, v Viewer, id string) (Detail, error) {
	c, err := s.Connection(ctx, v, id)
	if err != nil {
		return Detail{}, err
	}
	return s.DetailOf(ctx, v, c)
}

// DetailOf is Detail for a connection the caller already read with
// Connection (or an equally scoped read).
func (s *Service) DetailOf(ctx context.Context, v Viewer, c store.Connection) (Detail, error) {
	d := Detail{Connection: c, Actions: Available(v, c), Viewer: v, CallersSince: s.Now().Add(-CallersWindow)}
	var err error
	if d.History, err = s.Store.StatusEvents(ctx, c.TenantID, c.ID, 25); err != nil {
		return d, fmt.Errorf("admin: detail: %w", err)
	}
	if d.Callers, err = s.Store.ConnectionCallers(ctx, c.TenantID, c.ID, d.CallersSince, 25); err != nil {
		return d, fmt.Errorf("admin: detail: %w", err)
	}
	const auditRows = 20
	events, err := s.Store.ListAudit(ctx, c.TenantID, store.AuditFilter{ConnectionID: c.ID, Limit: auditRows + 1})
	if err != nil {
		return d, fmt.Errorf("admin: detail: %w", err)
	}
	d.MoreAudit = len(events) > auditRows
	d.Audit = events[:min(len(events), auditRows)]
	return d, nil
}
