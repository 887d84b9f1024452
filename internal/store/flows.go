package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/secrets"
)

// Flow is one sign-in or admin-consent round trip to Microsoft.
type Flow struct {
	ID           string
	TenantID     string
	StateHash    []byte
	Kind         string // sign_in | reconnect | admin_consent
	ConnectionID string
	SessionHash  []byte
	Verifier     string // PKCE verifier, sealed at rest
	Nonce        string
	Authority    string
	CreatedBy    string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	// ConnectSessionID is the connect link whose page started the flow.
	ConnectSessionID string
}

func flowPlace(f *Flow) secrets.Place {
	return secrets.Place{Table: "oauth_flows", Column: "verifier_enc", RowID: f.ID, TenantID: f.TenantID}
}

// CreateFlow stores a flow with its verifier sealed.
func (s *Store) CreateFlow(ctx context.Context, f Flow) (Flow, error) {
	f.ID = uuid.NewString()
	verifier := s.ring.SealString(f.Verifier, flowPlace(&f))
	err := s.inTenant(ctx, f.TenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO oauth_flows (id, tenant_id, state_hash, kind, connection_id, session_hash,
			verifier_enc, nonce, authority, created_by, expires_at, connect_session_id)
			VALUES ($1, $2, $3, $4, NULLIF($5, '')::uuid, $6, $7, $8, $9, NULLIF($10, '')::uuid, $11, NULLIF($12, '')::uuid)
			RETURNING created_at`,
			f.ID, f.TenantID, f.StateHash, f.Kind, f.ConnectionID, f.SessionHash, verifier, f.Nonce, f.Authority,
			f.CreatedBy, f.ExpiresAt, f.ConnectSessionID).Scan(&f.CreatedAt)
	})
	return f, mapErr("create flow", err)
}

// ConsumeFlow marks the flow with this state hash used and returns it, in one
// statement, so of two racing callbacks exactly one gets it. A flow that is
// unknown, used, expired or from another browser session is ErrNotFound and
// is left as it was (an attacker's callback does not burn the real one).
func (s *Store) ConsumeFlow(ctx context.Context, tenantID string, stateHash, sessionHash []byte, now time.Time) (Flow, error) {
	var f Flow
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var verifier []byte
		// The verifier is read once and wiped in the same statement: a used
		// flow keeps no secret until the expiry sweep removes the row.
		err := tx.QueryRow(ctx, `WITH live AS (
			  SELECT id, verifier_enc FROM oauth_flows
			  WHERE state_hash = $1 AND session_hash = $2 AND used_at IS NULL AND expires_at > $3
			  FOR UPDATE)
			UPDATE oauth_flows f SET used_at = $3, verifier_enc = NULL FROM live WHERE f.id = live.id
			RETURNING f.id, f.tenant_id, f.state_hash, f.kind, coalesce(f.connection_id::text, ''), f.session_hash, live.verifier_enc,
			          f.nonce, f.authority, coalesce(f.created_by::text, ''), f.created_at, f.expires_at,
			          coalesce(f.connect_session_id::text, '')`,
			stateHash, sessionHash, now).
			Scan(&f.ID, &f.TenantID, &f.StateHash, &f.Kind, &f.ConnectionID, &f.SessionHash, &verifier,
				&f.Nonce, &f.Authority, &f.CreatedBy, &f.CreatedAt, &f.ExpiresAt, &f.ConnectSessionID)
		if err != nil {
			return err
		}
		f.Verifier, err = s.ring.OpenString(verifier, flowPlace(&f))
		return err
	})
	return f, mapErr("consume flow", err)
}

// HasOpenFlow reports whether this browser session has a round trip to
// Microsoft under way: a flow neither used nor expired.
func (s *Store) HasOpenFlow(ctx context.Context, tenantID string, sessionHash []byte, now time.Time) (bool, error) {
	var open bool
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM oauth_flows
			WHERE session_hash = $1 AND used_at IS NULL AND expires_at > $2)`, sessionHash, now).Scan(&open)
	})
	return open, mapErr("has open flow", err)
}
