package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// SSOLink is an Entra tenant whose people may sign in to a broker tenant,
// verified by an admin's sign-in with an account of that Entra tenant.
type SSOLink struct {
	EntraTenantID string
	TenantID      string
	VerifiedBy    string // the broker admin who linked it
	VerifiedUPN   string // the Entra account they proved it with
	VerifiedOID   string
	CreatedAt     time.Time
}

// SSORule maps an Entra group (object ID) or app role (value) to a broker
// role and projects, applied at each single sign-on.
type SSORule struct {
	ID         string
	TenantID   string
	Claim      string // "group" or "role"
	Value      string
	Role       string
	ProjectIDs []string
	CreatedAt  time.Time
}

// SSO rule claims.
const (
	SSOClaimGroup = "group"
	SSOClaimRole  = "role"
)

// AddSSOLink records a verified link; an Entra tenant already linked (to
// this or another broker tenant) is ErrConflict.
func (s *Store) AddSSOLink(ctx context.Context, l SSOLink) (SSOLink, error) {
	l.EntraTenantID = strings.ToLower(l.EntraTenantID)
	err := s.inTenant(ctx, l.TenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO sso_links (entra_tenant_id, tenant_id, verified_by, verified_upn, verified_oid)
			VALUES ($1, $2, NULLIF($3, '')::uuid, $4, $5) RETURNING created_at`,
			l.EntraTenantID, l.TenantID, l.VerifiedBy, l.VerifiedUPN, l.VerifiedOID).Scan(&l.CreatedAt)
	})
	return l, mapErr("add sso link", err)
}

// SSOLinks lists the tenant's linked Entra tenants.
func (s *Store) SSOLinks(ctx context.Context, tenantID string) ([]SSOLink, error) {
	var out []SSOLink
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT entra_tenant_id, tenant_id::text, coalesce(verified_by::text, ''), verified_upn,
			verified_oid, created_at FROM sso_links ORDER BY created_at`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (SSOLink, error) {
			var l SSOLink
			return l, r.Scan(&l.EntraTenantID, &l.TenantID, &l.VerifiedBy, &l.VerifiedUPN, &l.VerifiedOID, &l.CreatedAt)
		})
		return err
	})
	return out, mapErr("list sso links", err)
}

// DeleteSSOLink unlinks an Entra tenant. Its people's broker accounts stay
// (an admin removes them); they can no longer sign in with Microsoft.
func (s *Store) DeleteSSOLink(ctx context.Context, tenantID, entraTenantID string) error {
	return s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM sso_links WHERE entra_tenant_id = $1`, strings.ToLower(entraTenantID))
		return notFoundIfNone("delete sso link", tag, err)
	})
}

// UserBySSOIdentity finds the tenant's user who is the Entra account (tid,
// oid). ErrNotFound: the account has not signed in here before.
func (s *Store) UserBySSOIdentity(ctx context.Context, tenantID, tid, oid string) (User, error) {
	var u User
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, userSelect+` JOIN sso_identities i ON i.tenant_id = u.tenant_id AND i.user_id = u.id
			WHERE i.entra_tenant_id = $1 AND i.entra_object_id = $2`, strings.ToLower(tid), strings.ToLower(oid)).
			Scan(&u.ID, &u.TenantID, &u.Email, &u.PasswordHash, &u.Role, &u.CreatedAt, &u.PasswordChangedAt, &u.ProjectIDs)
	})
	return u, mapErr("user by sso identity", err)
}

// SSOIdentityOf returns the Entra account (tid, oid) a user signs in as, if
// any (ErrNotFound otherwise).
func (s *Store) SSOIdentityOf(ctx context.Context, tenantID, userID string) (tid, oid string, err error) {
	err = s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT entra_tenant_id, entra_object_id FROM sso_identities WHERE user_id = $1`, userID).
			Scan(&tid, &oid)
	})
	return tid, oid, mapErr("sso identity of user", err)
}

// AddSSOIdentity ties a user to an Entra account. An account already tied
// to a user, or a user already tied to an account, is ErrConflict.
func (s *Store) AddSSOIdentity(ctx context.Context, tenantID, userID, tid, oid string) error {
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO sso_identities (entra_tenant_id, entra_object_id, tenant_id, user_id)
			VALUES ($1, $2, $3, $4)`, strings.ToLower(tid), strings.ToLower(oid), tenantID, userID)
		return err
	})
	return mapErr("add sso identity", err)
}

// SetUserAccess sets a user's role and adds projects (existing memberships
// stay), as SSO rules decide at sign-in.
func (s *Store) SetUserAccess(ctx context.Context, tenantID, userID, role string, addProjects []string) error {
	return s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET role = $2 WHERE id = $1`, userID, role)
		if err := notFoundIfNone("set user access", tag, err); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO project_members (tenant_id, project_id, user_id)
			SELECT $1, p.id, $2 FROM projects p WHERE p.id = ANY($3::uuid[])
			ON CONFLICT DO NOTHING`, tenantID, userID, nonNil(addProjects))
		return mapErr("set user access", err)
	})
}

// RequireSSO reads the tenant's "require single sign-on".
func (s *Store) RequireSSO(ctx context.Context, tenantID string) (bool, error) {
	var on bool
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT require_sso FROM tenants WHERE id = $1`, tenantID).Scan(&on)
	})
	return on, mapErr("require sso", err)
}

// AddSSORule stores a rule; the same claim and value twice is ErrConflict.
// Projects must be the tenant's (unknown IDs are ErrNotFound).
func (s *Store) AddSSORule(ctx context.Context, r SSORule) (SSORule, error) {
	err := s.inTenant(ctx, r.TenantID, func(tx pgx.Tx) error {
		var known int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM projects WHERE id = ANY($1::uuid[])`, nonNil(r.ProjectIDs)).Scan(&known); err != nil {
			return err
		}
		if known != len(r.ProjectIDs) {
			return fmt.Errorf("a project is not the tenant's: %w", ErrNotFound)
		}
		return tx.QueryRow(ctx, `INSERT INTO sso_rules (tenant_id, claim, value, role, project_ids)
			VALUES ($1, $2, $3, $4, $5) RETURNING id, created_at`,
			r.TenantID, r.Claim, r.Value, r.Role, nonNil(r.ProjectIDs)).Scan(&r.ID, &r.CreatedAt)
	})
	if errors.Is(err, ErrNotFound) {
		return r, fmt.Errorf("store: add sso rule: %w", err)
	}
	return r, mapErr("add sso rule", err)
}

// SSORules lists the tenant's rules, oldest first.
func (s *Store) SSORules(ctx context.Context, tenantID string) ([]SSORule, error) {
	var out []SSORule
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id::text, tenant_id::text, claim, value, role, project_ids::text[], created_at
			FROM sso_rules ORDER BY created_at, id`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (SSORule, error) {
			var x SSORule
			return x, r.Scan(&x.ID, &x.TenantID, &x.Claim, &x.Value, &x.Role, &x.ProjectIDs, &x.CreatedAt)
		})
		return err
	})
	return out, mapErr("list sso rules", err)
}

// DeleteSSORule removes one rule.
func (s *Store) DeleteSSORule(ctx context.Context, tenantID, id string) error {
	return s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM sso_rules WHERE id = $1`, id)
		return notFoundIfNone("delete sso rule", tag, err)
	})
}
