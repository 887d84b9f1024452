package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Event types: a contract with the services that subscribe (docs/webhooks.md,
// the OpenAPI document). Never rename one; add a new one.
const (
	EventConnectionCreated        = "connection.created"
	EventConnectionSignedIn       = "connection.signed_in"
	EventConnectionReconnected    = "connection.reconnected"
	EventConnectionApproved       = "connection.approved"
	EventConnectionRejected       = "connection.rejected"
	EventConnectionStatusChanged  = "connection.status_changed"
	EventConnectionSecretExpiring = "connection.secret_expiring"
	EventConnectionDisabled       = "connection.disabled"
	EventConnectionEnabled        = "connection.enabled"
	EventConnectionDeleted        = "connection.deleted"
	EventAPIKeyCreated            = "api_key.created"
	EventAPIKeyRevoked            = "api_key.revoked"
	EventBrokerHealthChanged      = "broker.health_changed"
	EventWebhookEndpointDisabled  = "webhook.endpoint_disabled"
	EventWebhookTest              = "webhook.test"
)

// EventTypes lists every type a webhook endpoint may subscribe to, in the
// catalogue's order.
var EventTypes = []string{
	EventConnectionCreated, EventConnectionSignedIn, EventConnectionReconnected, EventConnectionApproved,
	EventConnectionRejected, EventConnectionStatusChanged, EventConnectionSecretExpiring, EventConnectionDisabled,
	EventConnectionEnabled, EventConnectionDeleted, EventAPIKeyCreated, EventAPIKeyRevoked,
	EventBrokerHealthChanged, EventWebhookEndpointDisabled,
}

// PayloadVersion is the version of every payload schema; a breaking
// change to one makes a new version, announced in the OpenAPI document.
const PayloadVersion = 1

// eventsChannel is the NOTIFY channel that wakes delivery workers.
const eventsChannel = "broker_events"

// Event is one stored event.
type Event struct {
	ID           int64
	TenantID     string // "" for a broker-wide event
	Type         string
	ConnectionID string
	ProjectID    string
	Data         json.RawMessage
	CreatedAt    time.Time
}

// newEvent is an event about to be written.
type newEvent struct {
	TenantID, Type, ConnectionID, ProjectID string
	Data                                    any
	// OnlyEndpoint: deliver to this endpoint alone (a test event), not to
	// every subscriber.
	OnlyEndpoint string
}

// appendEvent writes one event in tx, the transaction of the change it
// describes, and queues a delivery for every enabled endpoint that wants
// it. The per-tenant advisory lock, held to commit, makes a tenant's event
// IDs commit in order, so a keyset reader (the feed, the delivery order)
// never passes an ID that a slower transaction commits later.
func appendEvent(ctx context.Context, tx pgx.Tx, e newEvent, now time.Time) error {
	data, err := json.Marshal(e.Data)
	if err != nil {
		return fmt.Errorf("event payload: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('broker_events'), hashtext(coalesce($1, 'broker')))`,
		nullIfEmpty(e.TenantID)); err != nil {
		return fmt.Errorf("event lock: %w", err)
	}
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO events (tenant_id, type, connection_id, project_id, payload)
		VALUES ($1::uuid, $2, $3::uuid, $4::uuid, $5) RETURNING id`,
		nullIfEmpty(e.TenantID), e.Type, nullIfEmpty(e.ConnectionID), nullIfEmpty(e.ProjectID), data).Scan(&id); err != nil {
		return fmt.Errorf("insert event: %w", err)
	}
	// Endpoints of the event's tenant (or broker-wide ones for a
	// broker-wide event) whose type and project filters admit it.
	tag, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, next_attempt_at)
		SELECT w.tenant_id, w.id, $1, $2 FROM webhook_endpoints w
		WHERE w.enabled AND w.tenant_id IS NOT DISTINCT FROM $3::uuid
		  AND ($6 = '' OR w.id = NULLIF($6, '')::uuid)
		  AND ($6 <> '' OR cardinality(w.event_types) = 0 OR $4 = ANY(w.event_types))
		  AND ($6 <> '' OR w.project_ids IS NULL OR $5::uuid IS NULL OR $5::uuid = ANY(w.project_ids))`,
		id, now, nullIfEmpty(e.TenantID), e.Type, nullIfEmpty(e.ProjectID), e.OnlyEndpoint)
	if err != nil {
		return fmt.Errorf("queue deliveries: %w", err)
	}
	if tag.RowsAffected() > 0 {
		if _, err := tx.Exec(ctx, `SELECT pg_notify('`+eventsChannel+`', '')`); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
	}
	return nil
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// connectionEvents says which events an update of a connection makes, from
// the row before and after it: every status change, and the named changes
// subscribers act on. It runs inside the update's transaction.
func connectionEvents(before, after Connection, u ConnectionUpdate) []newEvent {
	var out []newEvent
	add := func(typ string, data any) {
		out = append(out, newEvent{TenantID: after.TenantID, Type: typ, ConnectionID: after.ID, ProjectID: after.ProjectID, Data: data})
	}
	if u.Account != nil && u.RefreshToken != nil && *u.RefreshToken != "" {
		if before.AccountOID == "" {
			add(EventConnectionSignedIn, connectionData(after))
		} else {
			add(EventConnectionReconnected, connectionData(after))
		}
	}
	if u.Approve != nil {
		add(EventConnectionApproved, connectionData(after))
	}
	if after.Status != before.Status || after.StatusCode != before.StatusCode {
		add(EventConnectionStatusChanged, statusChangeData(before, after, u.Status))
	}
	if after.Status != before.Status {
		switch {
		case after.Status == "disabled" && after.StatusCode == "rejected":
			add(EventConnectionRejected, connectionData(after))
		case after.Status == "disabled":
			add(EventConnectionDisabled, connectionData(after))
		case before.Status == "disabled":
			add(EventConnectionEnabled, connectionData(after))
		case after.Status == "secret_expiring":
			add(EventConnectionSecretExpiring, connectionData(after))
		}
	}
	return out
}

// writeConnectionEvents re-reads the updated row and appends its events.
func writeConnectionEvents(ctx context.Context, tx pgx.Tx, before Connection, u ConnectionUpdate, now time.Time) error {
	if u.Status == nil && u.Account == nil && u.Approve == nil {
		return nil
	}
	after, err := scanConnection(tx.QueryRow(ctx, `SELECT `+connectionColumns+connectionFrom+` WHERE c.id = $1`, before.ID))
	if err != nil {
		return err
	}
	for _, e := range connectionEvents(before, after, u) {
		if err := appendEvent(ctx, tx, e, now); err != nil {
			return err
		}
	}
	return nil
}

// connectionEvent is the event of a connection's whole life (created,
// deleted): its data is the connection as it is.
func connectionEvent(typ string, c Connection) newEvent {
	return newEvent{TenantID: c.TenantID, Type: typ, ConnectionID: c.ID, ProjectID: c.ProjectID, Data: connectionData(c)}
}
