package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/secrets"
)

// Webhook endpoint secret columns, named once for sealing and rotation.
const (
	colWebhookSecret   = "secret_enc"
	colWebhookPrevious = "previous_secret_enc"
)

func webhookPlace(id, tenantID, column string) secrets.Place {
	return secrets.Place{Table: "webhook_endpoints", Column: column, RowID: id, TenantID: tenantID}
}

// WebhookEndpoint is a webhook endpoint without its secrets. TenantID ""
// is a broker-wide endpoint of the operators.
type WebhookEndpoint struct {
	ID                  string
	TenantID            string
	URL                 string
	Description         string
	EventTypes          []string // empty: every type
	ProjectIDs          []string // nil: every project
	Enabled             bool
	DisabledReason      string
	DisabledAt          *time.Time
	PreviousSecretUntil *time.Time // a rotation's overlap: the previous secret signs until then
	FailingSince        *time.Time
	CreatedBy           string
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

const webhookColumns = `id::text, coalesce(tenant_id::text, ''), url, description, event_types, project_ids::text[], enabled,
	disabled_reason, disabled_at, previous_secret_until, failing_since, created_by, created_at, updated_at`

func scanWebhook(r pgx.CollectableRow) (WebhookEndpoint, error) {
	var w WebhookEndpoint
	return w, r.Scan(&w.ID, &w.TenantID, &w.URL, &w.Description, &w.EventTypes, &w.ProjectIDs, &w.Enabled,
		&w.DisabledReason, &w.DisabledAt, &w.PreviousSecretUntil, &w.FailingSince, &w.CreatedBy, &w.CreatedAt, &w.UpdatedAt)
}

// NewWebhookEndpoint is what creating an endpoint needs; Secret is sealed here.
type NewWebhookEndpoint struct {
	TenantID, URL, Description, Secret, CreatedBy string
	EventTypes, ProjectIDs                        []string
}

// CreateWebhookEndpoint stores an endpoint with its sealed signing secret.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, n NewWebhookEndpoint) (WebhookEndpoint, error) {
	id := uuid.NewString()
	if n.EventTypes == nil {
		n.EventTypes = []string{}
	}
	secret := s.ring.SealString(n.Secret, webhookPlace(id, n.TenantID, colWebhookSecret))
	var out WebhookEndpoint
	err := s.inOwner(ctx, n.TenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `INSERT INTO webhook_endpoints (id, tenant_id, url, description, event_types, project_ids,
			secret_enc, created_by) VALUES ($1, NULLIF($2, '')::uuid, $3, $4, $5, $6::uuid[], $7, $8) RETURNING `+webhookColumns,
			id, n.TenantID, n.URL, n.Description, n.EventTypes, n.ProjectIDs, secret, n.CreatedBy)
		if err != nil {
			return err
		}
		out, err = pgx.CollectExactlyOneRow(rows, scanWebhook)
		return err
	})
	return out, mapErr("create webhook endpoint", err)
}

// WebhookEndpoints lists the tenant's endpoints (tenantID "": the
// broker-wide ones), oldest first.
func (s *Store) WebhookEndpoints(ctx context.Context, tenantID string) ([]WebhookEndpoint, error) {
	var out []WebhookEndpoint
	err := s.inOwner(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+webhookColumns+` FROM webhook_endpoints
			WHERE tenant_id IS NOT DISTINCT FROM NULLIF($1, '')::uuid ORDER BY created_at, id`, tenantID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanWebhook)
		return err
	})
	return out, mapErr("list webhook endpoints", err)
}

// WebhookEndpoint reads one endpoint of the tenant (or a broker-wide one).
func (s *Store) WebhookEndpoint(ctx context.Context, tenantID, id string) (WebhookEndpoint, error) {
	var out WebhookEndpoint
	err := s.inOwner(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+webhookColumns+` FROM webhook_endpoints
			WHERE id = $1 AND tenant_id IS NOT DISTINCT FROM NULLIF($2, '')::uuid`, id, tenantID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectExactlyOneRow(rows, scanWebhook)
		return err
	})
	return out, mapErr("get webhook endpoint", err)
}

// WebhookEndpointUpdate is what an admin may change; nil leaves a field.
type WebhookEndpointUpdate struct {
	URL, Description *string
	EventTypes       []string // nil: leave; empty: every type
	ProjectIDs       *[]string
	Enabled          *bool
}

// UpdateWebhookEndpoint changes an endpoint. Enabling it clears the
// automatic disabling and its failure streak.
func (s *Store) UpdateWebhookEndpoint(ctx context.Context, tenantID, id string, u WebhookEndpointUpdate) (WebhookEndpoint, error) {
	var out WebhookEndpoint
	var projects []string
	if u.ProjectIDs != nil {
		projects = *u.ProjectIDs
	}
	err := s.inOwner(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE webhook_endpoints SET
			url = coalesce($3, url), description = coalesce($4, description),
			event_types = coalesce($5, event_types),
			project_ids = CASE WHEN $6 THEN $7::uuid[] ELSE project_ids END,
			enabled = coalesce($8, enabled),
			disabled_reason = CASE WHEN $8 THEN '' WHEN NOT $8 THEN 'Disabled by an administrator.' ELSE disabled_reason END,
			disabled_at = CASE WHEN $8 THEN NULL WHEN NOT $8 THEN now() ELSE disabled_at END,
			failing_since = CASE WHEN $8 THEN NULL ELSE failing_since END,
			updated_at = now()
			WHERE id = $1 AND tenant_id IS NOT DISTINCT FROM NULLIF($2, '')::uuid RETURNING `+webhookColumns,
			id, tenantID, u.URL, u.Description, u.EventTypes, u.ProjectIDs != nil, projects, u.Enabled)
		if err != nil {
			return err
		}
		out, err = pgx.CollectExactlyOneRow(rows, scanWebhook)
		return err
	})
	return out, mapErr("update webhook endpoint", err)
}

// RotateWebhookSecret makes secret the endpoint's signing secret; the
// current one moves to previous and keeps signing until overlapUntil.
func (s *Store) RotateWebhookSecret(ctx context.Context, tenantID, id, secret string, overlapUntil time.Time) error {
	err := s.inOwner(ctx, tenantID, func(tx pgx.Tx) error {
		var cur []byte
		if err := tx.QueryRow(ctx, `SELECT secret_enc FROM webhook_endpoints
			WHERE id = $1 AND tenant_id IS NOT DISTINCT FROM NULLIF($2, '')::uuid FOR UPDATE`, id, tenantID).Scan(&cur); err != nil {
			return err
		}
		old, err := s.ring.Open(cur, webhookPlace(id, tenantID, colWebhookSecret))
		if err != nil {
			return fmt.Errorf("open webhook secret: %w", err)
		}
		prev := s.ring.Seal(old, webhookPlace(id, tenantID, colWebhookPrevious))
		clear(old)
		_, err = tx.Exec(ctx, `UPDATE webhook_endpoints SET secret_enc = $2, previous_secret_enc = $3,
			previous_secret_until = $4, updated_at = now() WHERE id = $1`,
			id, s.ring.SealString(secret, webhookPlace(id, tenantID, colWebhookSecret)), prev, overlapUntil)
		return err
	})
	return mapErr("rotate webhook secret", err)
}

// DeleteWebhookEndpoint removes an endpoint and its deliveries.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, tenantID, id string) error {
	return s.inOwner(ctx, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM webhook_endpoints
			WHERE id = $1 AND tenant_id IS NOT DISTINCT FROM NULLIF($2, '')::uuid`, id, tenantID)
		return notFoundIfNone("delete webhook endpoint", tag, err)
	})
}

// SendWebhookTest writes a webhook.test event for this endpoint alone.
func (s *Store) SendWebhookTest(ctx context.Context, tenantID, endpointID string, data any) error {
	return s.inOwner(ctx, tenantID, func(tx pgx.Tx) error {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT enabled FROM webhook_endpoints
			WHERE id = $1 AND tenant_id IS NOT DISTINCT FROM NULLIF($2, '')::uuid`, endpointID, tenantID).Scan(&ok); err != nil {
			return mapErr("send webhook test", err)
		}
		if !ok {
			return fmt.Errorf("store: send webhook test: endpoint disabled: %w", ErrConflict)
		}
		return appendEvent(ctx, tx, newEvent{TenantID: tenantID, Type: EventWebhookTest, Data: data, OnlyEndpoint: endpointID}, s.now())
	})
}
