package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Tenant is a customer organisation.
type Tenant struct {
	ID              string
	Slug            string
	Name            string
	RequireApproval bool
	CreatedAt       time.Time
}

// Project is a tenant's project: the "Location" of a connection.
type Project struct {
	ID        string
	TenantID  string
	Name      string
	CreatedAt time.Time
	AppID     string // the tenant app registration new connections use by default; "" the broker's
}

// Tenant reads the caller's own tenant.
func (s *Store) Tenant(ctx context.Context, tenantID string) (Tenant, error) {
	var t Tenant
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id, slug, name, require_approval, created_at FROM tenants WHERE id = $1`, tenantID).
			Scan(&t.ID, &t.Slug, &t.Name, &t.RequireApproval, &t.CreatedAt)
	})
	return t, mapErr("get tenant", err)
}

// CreateProject adds a project; a name taken in the tenant is ErrConflict.
func (s *Store) CreateProject(ctx context.Context, tenantID, name string) (Project, error) {
	var p Project
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO projects (tenant_id, name) VALUES ($1, $2)
			RETURNING id, tenant_id, name, created_at`, tenantID, name).Scan(&p.ID, &p.TenantID, &p.Name, &p.CreatedAt)
	})
	return p, mapErr("create project", err)
}

// ListProjects lists the tenant's projects by name.
func (s *Store) ListProjects(ctx context.Context, tenantID string) ([]Project, error) {
	var out []Project
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, tenant_id, name, created_at, coalesce(app_id::text, '') FROM projects ORDER BY lower(name)`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanProject)
		return err
	})
	return out, mapErr("list projects", err)
}

// ProjectByName finds a project of the tenant by name, case-insensitively.
func (s *Store) ProjectByName(ctx context.Context, tenantID, name string) (Project, error) {
	var p Project
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, tenant_id, name, created_at, coalesce(app_id::text, '') FROM projects WHERE lower(name) = lower($1)`, name)
		if err != nil {
			return err
		}
		p, err = pgx.CollectExactlyOneRow(rows, scanProject)
		return err
	})
	return p, mapErr("project by name", err)
}

func scanProject(r pgx.CollectableRow) (Project, error) {
	var p Project
	return p, r.Scan(&p.ID, &p.TenantID, &p.Name, &p.CreatedAt, &p.AppID)
}
