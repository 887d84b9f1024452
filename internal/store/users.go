package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Roles a tenant user may hold.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// User is a person of a tenant.
type User struct {
	ID                string
	TenantID          string
	Email             string
	PasswordHash      string
	Role              string
	ProjectIDs        []string // projects a member may use; admins may use all
	CreatedAt         time.Time
	PasswordChangedAt time.Time
}

// Operator is a platform operator who sees every tenant.
type Operator struct {
	ID                string
	Email             string
	PasswordHash      string
	CreatedAt         time.Time
	PasswordChangedAt time.Time
}

// User reads one user of the tenant, with their projects.
func (s *Store) User(ctx context.Context, tenantID, userID string) (User, error) {
	var u User
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, userSelect+` WHERE u.id = $1`, userID).
			Scan(&u.ID, &u.TenantID, &u.Email, &u.PasswordHash, &u.Role, &u.CreatedAt, &u.PasswordChangedAt, &u.ProjectIDs)
	})
	return u, mapErr("get user", err)
}

const userSelect = `SELECT u.id, u.tenant_id, u.email, u.password_hash, u.role, u.created_at, u.password_changed_at,
	coalesce((SELECT array_agg(pm.project_id::text) FROM project_members pm WHERE pm.user_id = u.id), '{}')
	FROM users u`

// SetPassword replaces a user's password hash; the caller ends their sessions.
func (s *Store) SetPassword(ctx context.Context, tenantID, userID, passwordHash string) error {
	return s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2, password_changed_at = now() WHERE id = $1`, userID, passwordHash)
		if err := notFoundIfNone("set password", tag, err); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
		return err
	})
}

// Principal is whoever an email signs in as: a tenant user or an operator.
type Principal struct {
	User     *User
	Operator *Operator
}
