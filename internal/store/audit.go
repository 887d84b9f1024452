package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditEvent is one append-only record of who did what. Details never hold secrets.
type AuditEvent struct {
	ID           int64
	TenantID     string // empty for platform events
	At           time.Time
	ActorType    string // user | operator | api_key | system
	ActorID      string
	ActorLabel   string
	Action       string
	ConnectionID string
	Reason       string
	Details      map[string]any
	RequestID    string
}

// AuditFilter narrows ListAudit.
type AuditFilter struct {
	ConnectionID string
	Action       string
	ActorID      string
	Since, Until *time.Time
	BeforeID     int64 // keyset
	Limit        int
}

// ListAudit lists a tenant's events, newest first.
func (s *Store) ListAudit(ctx context.Context, tenantID string, f AuditFilter) ([]AuditEvent, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	var out []AuditEvent
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, coalesce(tenant_id::text, ''), at, actor_type, actor_id, actor_label, action,
			coalesce(connection_id::text, ''), reason, details, request_id FROM audit_events
			WHERE ($1 = '' OR connection_id = NULLIF($1, '')::uuid) AND ($2 = '' OR action = $2) AND ($3 = '' OR actor_id = $3)
			  AND ($4::timestamptz IS NULL OR at >= $4) AND ($5::timestamptz IS NULL OR at < $5) AND ($6 = 0 OR id < $6)
			ORDER BY id DESC LIMIT $7`, f.ConnectionID, f.Action, f.ActorID, f.Since, f.Until, f.BeforeID, f.Limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEvent, error) {
			var e AuditEvent
			return e, r.Scan(&e.ID, &e.TenantID, &e.At, &e.ActorType, &e.ActorID, &e.ActorLabel, &e.Action,
				&e.ConnectionID, &e.Reason, &e.Details, &e.RequestID)
		})
		return err
	})
	return out, mapErr("list audit", err)
}
