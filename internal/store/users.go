package store

import (
	"context"
	"errors"
	"fmt"
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

// CreateUser adds a user with a password hash; a taken email is ErrConflict.
func (s *Store) CreateUser(ctx context.Context, tenantID, email, passwordHash, role string, projectIDs []string) (User, error) {
	var u User
	// One email signs in to one account: an operator's address is taken too.
	// (users.email is unique by index; operators are checked here.)
	var taken bool
	if err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM operators WHERE lower(email) = lower($1))`, email).Scan(&taken)
	}); err != nil {
		return u, mapErr("create user", err)
	}
	if taken {
		return u, fmt.Errorf("store: create user: %w", ErrConflict)
	}
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO users (tenant_id, email, password_hash, role) VALUES ($1, $2, $3, $4)
			RETURNING id, tenant_id, email, password_hash, role, created_at, password_changed_at`,
			tenantID, email, passwordHash, role).
			Scan(&u.ID, &u.TenantID, &u.Email, &u.PasswordHash, &u.Role, &u.CreatedAt, &u.PasswordChangedAt)
		if err != nil {
			return err
		}
		for _, p := range projectIDs {
			if _, err := tx.Exec(ctx, `INSERT INTO project_members (tenant_id, project_id, user_id) VALUES ($1, $2, $3)`,
				tenantID, p, u.ID); err != nil {
				return err
			}
		}
		u.ProjectIDs = projectIDs
		return nil
	})
	return u, mapErr("create user", err)
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

// PrincipalByEmail finds the account an email signs in to. Sign-in happens
// before any tenant is known, so it looks across tenants.
func (s *Store) PrincipalByEmail(ctx context.Context, email string) (Principal, error) {
	var p Principal
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		var u User
		err := tx.QueryRow(ctx, userSelect+` WHERE lower(u.email) = lower($1)`, email).
			Scan(&u.ID, &u.TenantID, &u.Email, &u.PasswordHash, &u.Role, &u.CreatedAt, &u.PasswordChangedAt, &u.ProjectIDs)
		if err == nil {
			p.User = &u
			return nil
		}
		if err != pgx.ErrNoRows {
			return err
		}
		var o Operator
		err = tx.QueryRow(ctx, `SELECT id, email, password_hash, created_at, password_changed_at FROM operators WHERE lower(email) = lower($1)`, email).
			Scan(&o.ID, &o.Email, &o.PasswordHash, &o.CreatedAt, &o.PasswordChangedAt)
		if err != nil {
			return err
		}
		p.Operator = &o
		return nil
	})
	return p, mapErr("principal by email", err)
}

// CreateOperator adds a platform operator; a taken email is ErrConflict.
func (s *Store) CreateOperator(ctx context.Context, email, passwordHash string) (Operator, error) {
	var o Operator
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		var taken bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = lower($1))`, email).Scan(&taken); err != nil {
			return err
		}
		if taken {
			return ErrConflict
		}
		return tx.QueryRow(ctx, `INSERT INTO operators (email, password_hash) VALUES ($1, $2)
			RETURNING id, email, password_hash, created_at, password_changed_at`, email, passwordHash).
			Scan(&o.ID, &o.Email, &o.PasswordHash, &o.CreatedAt, &o.PasswordChangedAt)
	})
	if errors.Is(err, ErrConflict) {
		return o, fmt.Errorf("store: create operator: %w", ErrConflict)
	}
	return o, mapErr("create operator", err)
}
