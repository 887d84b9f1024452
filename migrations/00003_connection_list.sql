-- +goose Up
-- Keyset pagination of the connections list at 100,000 rows: one index per
-- sort order, within a tenant (admins, members) and across tenants (operators).
CREATE INDEX connections_tenant_name ON connections (tenant_id, lower(name), id);
CREATE INDEX connections_tenant_status_created ON connections (tenant_id, status, created_at DESC, id DESC);
CREATE INDEX connections_tenant_project_created ON connections (tenant_id, project_id, created_at DESC, id DESC);
CREATE INDEX connections_created ON connections (created_at DESC, id DESC);
CREATE INDEX connections_name ON connections (lower(name), id);
DROP INDEX connections_tenant_status;


-- +goose Down
CREATE INDEX connections_tenant_status ON connections (tenant_id, status);
DROP INDEX connections_name;
DROP INDEX connections_created;
DROP INDEX connections_tenant_project_created;
DROP INDEX connections_tenant_status_created;
DROP INDEX connections_tenant_name;
