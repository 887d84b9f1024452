package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// ConnectSession is one connect link (docs/connect.md). Its token is never
// stored, only TokenHash.
type ConnectSession struct {
	ID                    string
	TenantID              string
	ProjectID             string
	TokenHash             []byte
	Status                string // pending | completed | failed | expired | revoked
	FailureReason         string
	EndUser               EndUser
	ConnectionName        string
	AllowedAccountTypes   []string
	AllowedAuthTypes      []string
	Scopes                []string
	ReconnectConnectionID string
	ReturnURL             string
	Metadata              map[string]string
	BrowserHash           []byte
	OpenedAt              *time.Time
	ConnectionID          string
	CreatedByKey          string
	CreatedByLabel        string
	CreatedAt             time.Time
	ExpiresAt             time.Time
	FinishedAt            *time.Time
}

// StatusAt is the session's status as callers see it at now: a pending
// session past its expiry is expired, whether or not a sweep wrote so.
func (cs ConnectSession) StatusAt(now time.Time) string {
	if cs.Status == "pending" && !now.Before(cs.ExpiresAt) {
		return "expired"
	}
	return cs.Status
}

const connectSessionColumns = `id, tenant_id, project_id, token_hash, status, failure_reason, end_user_id, end_user_email,
	end_user_display_name, connection_name, allowed_account_types, allowed_auth_types, scopes,
	coalesce(reconnect_connection_id::text, ''), return_url, metadata, browser_hash, opened_at,
	coalesce(connection_id::text, ''), coalesce(created_by_key::text, ''), created_by_label, created_at, expires_at, finished_at`

func scanConnectSession(r pgx.Row) (ConnectSession, error) {
	var cs ConnectSession
	err := r.Scan(&cs.ID, &cs.TenantID, &cs.ProjectID, &cs.TokenHash, &cs.Status, &cs.FailureReason, &cs.EndUser.ID,
		&cs.EndUser.Email, &cs.EndUser.DisplayName, &cs.ConnectionName, &cs.AllowedAccountTypes, &cs.AllowedAuthTypes,
		&cs.Scopes, &cs.ReconnectConnectionID, &cs.ReturnURL, &cs.Metadata, &cs.BrowserHash, &cs.OpenedAt,
		&cs.ConnectionID, &cs.CreatedByKey, &cs.CreatedByLabel, &cs.CreatedAt, &cs.ExpiresAt, &cs.FinishedAt)
	return cs, err
}

// CreateConnectSession stores a new session (ID and times from Postgres).
func (s *Store) CreateConnectSession(ctx context.Context, cs ConnectSession) (ConnectSession, error) {
	var out ConnectSession
	err := s.inTenant(ctx, cs.TenantID, func(tx pgx.Tx) error {
		var err error
		out, err = scanConnectSession(tx.QueryRow(ctx, `INSERT INTO connect_sessions (tenant_id, project_id, token_hash,
			end_user_id, end_user_email, end_user_display_name, connection_name, allowed_account_types, allowed_auth_types,
			scopes, reconnect_connection_id, return_url, metadata, created_by_key, created_by_label, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULLIF($11, '')::uuid, $12, $13, NULLIF($14, '')::uuid, $15, $16)
			RETURNING `+connectSessionColumns,
			cs.TenantID, cs.ProjectID, cs.TokenHash, cs.EndUser.ID, cs.EndUser.Email, cs.EndUser.DisplayName,
			cs.ConnectionName, nonNil(cs.AllowedAccountTypes), nonNil(cs.AllowedAuthTypes), nonNil(cs.Scopes),
			cs.ReconnectConnectionID, cs.ReturnURL, metadataOf(cs.Metadata), cs.CreatedByKey, cs.CreatedByLabel, cs.ExpiresAt))
		return err
	})
	return out, mapErr("create connect session", err)
}

// ConnectSession reads one session of the tenant.
func (s *Store) ConnectSession(ctx context.Context, tenantID, id string) (ConnectSession, error) {
	var out ConnectSession
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = scanConnectSession(tx.QueryRow(ctx, `SELECT `+connectSessionColumns+` FROM connect_sessions WHERE id = $1`, id))
		return err
	})
	return out, mapErr("get connect session", err)
}

// RevokeConnectSession revokes a pending session; one already finished
// keeps its status (revoking twice is not an error). It returns the row.
func (s *Store) RevokeConnectSession(ctx context.Context, tenantID, id string, now time.Time) (ConnectSession, error) {
	var out ConnectSession
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE connect_sessions SET status = 'revoked', finished_at = $2
			WHERE id = $1 AND status = 'pending' AND expires_at > $2`, id, now); err != nil {
			return err
		}
		var err error
		out, err = scanConnectSession(tx.QueryRow(ctx, `SELECT `+connectSessionColumns+` FROM connect_sessions WHERE id = $1`, id))
		return err
	})
	return out, mapErr("revoke connect session", err)
}

// BindConnectSession ties a pending, unexpired, unbound session to a
// browser. false: another browser (or this one, earlier) bound it first.
func (s *Store) BindConnectSession(ctx context.Context, tenantID, id string, browserHash []byte, now time.Time) (bool, error) {
	var bound bool
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE connect_sessions SET browser_hash = $2, opened_at = $3
			WHERE id = $1 AND browser_hash IS NULL AND status = 'pending' AND expires_at > $3`, id, browserHash, now)
		bound = err == nil && tag.RowsAffected() == 1
		return err
	})
	return bound, mapErr("bind connect session", err)
}

// FinishConnectSession records a pending session's outcome: completed with
// its connection, or failed with a reason. false: it was no longer pending.
func (s *Store) FinishConnectSession(ctx context.Context, tenantID, id, status, connectionID, reason string, now time.Time) (bool, error) {
	var done bool
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE connect_sessions SET status = $2, connection_id = NULLIF($3, '')::uuid,
			failure_reason = $4, finished_at = $5 WHERE id = $1 AND status = 'pending'`, id, status, connectionID, reason, now)
		done = err == nil && tag.RowsAffected() == 1
		return err
	})
	return done, mapErr("finish connect session", err)
}

// ConnectSettings is a tenant's connect page look and allowed return origins.
type ConnectSettings struct {
	TenantID             string
	DisplayName          string
	LogoURL              string
	BrandColor           string // #rrggbb or ""
	AllowedReturnOrigins []string
}

// ConnectSettings reads the tenant's settings; a tenant that set none gets
// the zero value (its name is used, no return origin is allowed).
func (s *Store) ConnectSettings(ctx context.Context, tenantID string) (ConnectSettings, error) {
	out := ConnectSettings{TenantID: tenantID}
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT display_name, logo_url, brand_color, allowed_return_origins FROM connect_settings
			WHERE tenant_id = $1`, tenantID).Scan(&out.DisplayName, &out.LogoURL, &out.BrandColor, &out.AllowedReturnOrigins)
		if err == pgx.ErrNoRows {
			return nil
		}
		return err
	})
	return out, mapErr("get connect settings", err)
}

// PutConnectSettings writes the tenant's settings whole.
func (s *Store) PutConnectSettings(ctx context.Context, cs ConnectSettings) error {
	return mapErr("put connect settings", s.inTenant(ctx, cs.TenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO connect_settings (tenant_id, display_name, logo_url, brand_color, allowed_return_origins)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id) DO UPDATE SET display_name = $2, logo_url = $3,
			brand_color = $4, allowed_return_origins = $5, updated_at = now()`,
			cs.TenantID, cs.DisplayName, cs.LogoURL, cs.BrandColor, nonNil(cs.AllowedReturnOrigins))
		return err
	}))
}
