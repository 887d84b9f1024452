package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// CreateConnectionWithFlow inserts a pending connection and the sign-in flow
// that will activate it in one transaction, so a failure leaves neither
// behind. f.ConnectionID is set to the new connection; a name taken in the
// project is ErrConflict.
func (s *Store) CreateConnectionWithFlow(ctx context.Context, n NewConnection, f Flow) (Connection, Flow, error) {
	c := Connection{ID: uuid.NewString(), TenantID: n.TenantID}
	f.ID, f.TenantID, f.ConnectionID = uuid.NewString(), n.TenantID, c.ID
	if n.RequestedScopes == nil {
		n.RequestedScopes = []string{}
	}
	secret := s.ring.SealString(n.ClientSecret, connPlace(&c, colClientSecret))
	verifier := s.ring.SealString(f.Verifier, flowPlace(&f))
	err := s.inTenant(ctx, n.TenantID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO connections (id, tenant_id, project_id, name, account_type, auth_type, ms_tenant,
			client_id, user_principal, requested_scopes, status, client_secret_enc, client_secret_expires_at, created_by,
			needs_approval, end_user_id, end_user_email, end_user_display_name, metadata, app_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $12, NULLIF($13, '')::uuid,
			(SELECT require_approval FROM tenants WHERE id = $2), $14, $15, $16, $17, NULLIF($18, '')::uuid)`,
			c.ID, n.TenantID, n.ProjectID, n.Name, n.AccountType, n.AuthType, n.MSTenant, n.ClientID, n.UserPrincipal,
			n.RequestedScopes, secret, n.ClientSecretExpiresAt, n.CreatedBy,
			n.EndUser.ID, n.EndUser.Email, n.EndUser.DisplayName, metadataOf(n.Metadata), n.AppID); err != nil {
			return err
		}
		if err := insertEvent(ctx, tx, c.TenantID, c.ID, StatusEvent{Status: "pending"}); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO oauth_flows (id, tenant_id, state_hash, kind, connection_id, session_hash,
			verifier_enc, nonce, authority, created_by, expires_at, connect_session_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULLIF($10, '')::uuid, $11, NULLIF($12, '')::uuid) RETURNING created_at`,
			f.ID, f.TenantID, f.StateHash, f.Kind, f.ConnectionID, f.SessionHash, verifier, f.Nonce, f.Authority,
			f.CreatedBy, f.ExpiresAt, f.ConnectSessionID).Scan(&f.CreatedAt); err != nil {
			return err
		}
		var err error
		if c, err = scanConnection(tx.QueryRow(ctx, `SELECT `+connectionColumns+connectionFrom+` WHERE c.id = $1`, c.ID)); err != nil {
			return err
		}
		return appendEvent(ctx, tx, connectionEvent(EventConnectionCreated, c), s.now())
	})
	return c, f, mapErr("create connection with flow", err)
}

// ConnectionByName finds a connection of the project by name, ignoring case,
// as the unique index does.
func (s *Store) ConnectionByName(ctx context.Context, tenantID, projectID, name string) (Connection, error) {
	var c Connection
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		c, err = scanConnection(tx.QueryRow(ctx, `SELECT `+connectionColumns+connectionFrom+`
			WHERE c.project_id = $1 AND lower(c.name) = lower($2)`, projectID, name))
		return err
	})
	return c, mapErr("connection by name", err)
}
