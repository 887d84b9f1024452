package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Delivery is one event's delivery to one endpoint, as the pages show it.
type Delivery struct {
	ID             string
	EndpointID     string
	EventID        int64
	EventType      string
	Status         string // pending | delivered | failed
	Attempts       int
	NextAttemptAt  time.Time
	LastAttemptAt  *time.Time
	LastStatusCode *int
	LastError      string
	LastDurationMS *int
	DeliveredAt    *time.Time
	CreatedAt      time.Time
}

// WebhookDeliveries lists an endpoint's latest deliveries, newest first.
func (s *Store) WebhookDeliveries(ctx context.Context, tenantID, endpointID string, limit int) ([]Delivery, error) {
	var out []Delivery
	err := s.inOwner(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT d.id::text, d.endpoint_id::text, d.event_id, e.type, d.status, d.attempts,
			d.next_attempt_at, d.last_attempt_at, d.last_status_code, d.last_error, d.last_duration_ms, d.delivered_at, d.created_at
			FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
			WHERE d.endpoint_id = $1 AND d.tenant_id IS NOT DISTINCT FROM NULLIF($2, '')::uuid
			ORDER BY d.event_id DESC LIMIT $3`, endpointID, tenantID, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Delivery, error) {
			var d Delivery
			return d, r.Scan(&d.ID, &d.EndpointID, &d.EventID, &d.EventType, &d.Status, &d.Attempts, &d.NextAttemptAt,
				&d.LastAttemptAt, &d.LastStatusCode, &d.LastError, &d.LastDurationMS, &d.DeliveredAt, &d.CreatedAt)
		})
		return err
	})
	return out, mapErr("list webhook deliveries", err)
}

// ResendWebhookDelivery queues one delivery again, at once, whatever its
// outcome was; the attempt count goes on.
func (s *Store) ResendWebhookDelivery(ctx context.Context, tenantID, endpointID, deliveryID string, now time.Time) error {
	return s.inOwner(ctx, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $4,
			lease_holder = NULL, lease_until = NULL
			WHERE id = $1 AND endpoint_id = $2 AND tenant_id IS NOT DISTINCT FROM NULLIF($3, '')::uuid`,
			deliveryID, endpointID, tenantID, now)
		if err := notFoundIfNone("resend webhook delivery", tag, err); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify('`+eventsChannel+`', '')`)
		return err
	})
}

// ReplayWebhookSince queues, for one endpoint, every event since a time
// that the endpoint subscribes to, delivered before or not, in order. It
// returns how many it queued.
func (s *Store) ReplayWebhookSince(ctx context.Context, tenantID, endpointID string, since, now time.Time) (int64, error) {
	var n int64
	err := s.inOwner(ctx, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, next_attempt_at)
			SELECT w.tenant_id, w.id, e.id, $4 FROM webhook_endpoints w JOIN events e
			  ON e.tenant_id IS NOT DISTINCT FROM w.tenant_id
			WHERE w.id = $1 AND w.tenant_id IS NOT DISTINCT FROM NULLIF($2, '')::uuid AND e.created_at >= $3
			  AND e.type <> '`+EventWebhookTest+`'
			  AND (cardinality(w.event_types) = 0 OR e.type = ANY(w.event_types))
			  AND (w.project_ids IS NULL OR e.project_id IS NULL OR e.project_id = ANY(w.project_ids))
			ON CONFLICT (endpoint_id, event_id) DO UPDATE SET status = 'pending', next_attempt_at = $4,
			  lease_holder = NULL, lease_until = NULL`, endpointID, tenantID, since, now)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = tx.Exec(ctx, `SELECT pg_notify('`+eventsChannel+`', '')`)
		return err
	})
	return n, mapErr("replay webhook events", err)
}

// EventQuery is one page of a tenant's events, oldest first after a cursor.
type EventQuery struct {
	TenantID     string
	After        int64    // the last ID the caller has seen; 0: from the start
	Types        []string // empty: every type
	ProjectIDs   []string // nil: every project (events of no project included)
	ConnectionID string
	Limit        int // default 100, at most 1000
}

// Events returns a page of a tenant's events in ID order. The per-tenant
// lock appendEvent takes makes this keyset safe: no event with a lower ID
// commits after a higher one is visible.
func (s *Store) Events(ctx context.Context, q EventQuery) ([]Event, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	q.Limit = min(q.Limit, 1000)
	var out []Event
	err := s.inTenant(ctx, q.TenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, coalesce(tenant_id::text, ''), type, coalesce(connection_id::text, ''),
			coalesce(project_id::text, ''), payload, created_at FROM events
			WHERE tenant_id = $1 AND id > $2 AND type <> '`+EventWebhookTest+`'
			  AND (cardinality($3::text[]) = 0 OR type = ANY($3))
			  AND ($4::uuid[] IS NULL OR project_id = ANY($4))
			  AND ($5 = '' OR connection_id = NULLIF($5, '')::uuid)
			ORDER BY id LIMIT $6`, q.TenantID, q.After, nonNil(q.Types), q.ProjectIDs, q.ConnectionID, q.Limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanEvent)
		return err
	})
	return out, mapErr("events", err)
}

// ConnectionEventLog lists a connection's latest events, newest first.
func (s *Store) ConnectionEventLog(ctx context.Context, tenantID, connID string, limit int) ([]Event, error) {
	var out []Event
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, coalesce(tenant_id::text, ''), type, coalesce(connection_id::text, ''),
			coalesce(project_id::text, ''), payload, created_at FROM events
			WHERE connection_id = $1 ORDER BY id DESC LIMIT $2`, connID, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanEvent)
		return err
	})
	return out, mapErr("connection events", err)
}

func scanEvent(r pgx.CollectableRow) (Event, error) {
	var e Event
	var data []byte
	err := r.Scan(&e.ID, &e.TenantID, &e.Type, &e.ConnectionID, &e.ProjectID, &data, &e.CreatedAt)
	e.Data = json.RawMessage(data)
	return e, err
}

// ListenEvents wakes the delivery worker: it holds one connection of the
// pool in LISTEN and sends on wake (without blocking) at each NOTIFY, until
// ctx ends or the connection fails.
func (s *Store) ListenEvents(ctx context.Context, wake chan<- struct{}) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("store: listen: %w", err)
	}
	defer c.Release()
	if _, err := c.Exec(ctx, `LISTEN `+eventsChannel); err != nil {
		return fmt.Errorf("store: listen: %w", err)
	}
	defer c.Exec(context.WithoutCancel(ctx), `UNLISTEN `+eventsChannel)
	for {
		if _, err := c.Conn().WaitForNotification(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("store: listen: %w", err)
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
