-- +goose Up

-- The roles the server's queries run under. Neither is superuser nor
-- BYPASSRLS, so row-level security binds even when BROKER_DATABASE_URL names a
-- superuser or the tables' owner: the pool runs SET ROLE broker_app on every
-- connection. broker_system is the one explicit path across tenants
-- (store.acrossTenants switches to it with SET LOCAL ROLE for one
-- transaction); its policies admit every row, so its queries plan like plain
-- ones. Roles are cluster-wide, so creation tolerates a concurrent twin.
-- +goose StatementBegin
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['broker_app', 'broker_system'] LOOP
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
        EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE', r);
      END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
    BEGIN
      EXECUTE format('GRANT %I TO %I', r, current_user);
    EXCEPTION WHEN OTHERS THEN
      NULL; -- already a member, or a superuser (who may SET ROLE to anything)
    END;
  END LOOP;
END
$$;
-- +goose StatementEnd

-- The tenant of the current transaction, set by store.inTenant with
-- set_config('broker.tenant_id', …, true). Unset (or reset to '') means none.
CREATE FUNCTION broker_tenant() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT NULLIF(current_setting('broker.tenant_id', true), '')::uuid
$$;

CREATE TABLE tenants (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug             text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  require_approval boolean NOT NULL DEFAULT false,
  created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE projects (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id  uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX projects_tenant_name ON projects (tenant_id, lower(name));

CREATE TABLE users (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id           uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  email               text NOT NULL CHECK (email LIKE '%_@_%'),
  password_hash       text NOT NULL,
  role                text NOT NULL CHECK (role IN ('admin', 'member')),
  created_at          timestamptz NOT NULL DEFAULT now(),
  password_changed_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id)
);
-- One address signs in to one account, so /login needs no tenant field.
CREATE UNIQUE INDEX users_email ON users (lower(email));
CREATE INDEX users_tenant ON users (tenant_id);

-- Members see the connections of their projects; admins see the tenant's.
--
-- Foreign keys between tenant-owned rows include tenant_id: Postgres checks
-- foreign keys without row-level security, so a plain project_id reference
-- would let a row of tenant A point at tenant B's project.
CREATE TABLE project_members (
  tenant_id  uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  project_id uuid NOT NULL,
  user_id    uuid NOT NULL,
  PRIMARY KEY (project_id, user_id),
  FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX project_members_user ON project_members (user_id);

CREATE TABLE operators (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email               text NOT NULL CHECK (email LIKE '%_@_%'),
  password_hash       text NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  password_changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX operators_email ON operators (lower(email));

-- Server-side sessions: the cookie names a row by a random ID; only its
-- SHA-256 is stored, so a database read does not yield live cookies.
CREATE TABLE sessions (
  id_hash          bytea PRIMARY KEY,
  tenant_id        uuid REFERENCES tenants(id) ON DELETE CASCADE,
  user_id          uuid,
  operator_id      uuid REFERENCES operators(id) ON DELETE CASCADE,
  created_at       timestamptz NOT NULL DEFAULT now(),
  authenticated_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at     timestamptz NOT NULL DEFAULT now(),
  expires_at       timestamptz NOT NULL,
  CHECK ((user_id IS NOT NULL AND tenant_id IS NOT NULL AND operator_id IS NULL)
      OR (operator_id IS NOT NULL AND user_id IS NULL AND tenant_id IS NULL)),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_operator ON sessions (operator_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE connections (
  id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id                uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  project_id               uuid NOT NULL,
  name                     text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  account_type             text NOT NULL CHECK (account_type IN ('common', 'tenant', 'consumers', 'organizations')),
  auth_type                text NOT NULL CHECK (auth_type IN ('authorization_code', 'client_credentials')),
  ms_tenant                text NOT NULL DEFAULT '',   -- Tenant ID/Domain as entered (tenant-specific only)
  client_id                text NOT NULL DEFAULT '',   -- client credentials: the customer's app
  user_principal           text NOT NULL DEFAULT '',   -- client credentials: the User ID (UPN)
  requested_scopes         text[] NOT NULL DEFAULT '{}',
  granted_scopes           text[] NOT NULL DEFAULT '{}',
  status                   text NOT NULL DEFAULT 'pending' CHECK (status IN
                             ('pending', 'active', 'needs_reauth', 'consent_required', 'config_error',
                              'secret_expiring', 'disabled', 'awaiting_approval')),
  status_reason            text NOT NULL DEFAULT '',
  status_code              text NOT NULL DEFAULT '',   -- e.g. AADSTS70008
  status_trace_id          text NOT NULL DEFAULT '',
  status_changed_at        timestamptz NOT NULL DEFAULT now(),
  account_tid              text NOT NULL DEFAULT '',
  account_oid              text NOT NULL DEFAULT '',
  account_username         text NOT NULL DEFAULT '',
  account_name             text NOT NULL DEFAULT '',
  created_by               uuid,
  created_at               timestamptz NOT NULL DEFAULT now(),
  updated_at               timestamptz NOT NULL DEFAULT now(),
  refresh_token_enc        bytea,
  client_secret_enc        bytea,
  client_secret_expires_at timestamptz,
  access_token_enc         bytea,
  access_token_expires_at  timestamptz,
  last_refresh_at          timestamptz,
  last_used_at             timestamptz,
  version                  bigint NOT NULL DEFAULT 1,
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE RESTRICT,
  FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (created_by)
);
CREATE UNIQUE INDEX connections_project_name ON connections (project_id, lower(name));
CREATE INDEX connections_tenant_created ON connections (tenant_id, created_at DESC, id DESC);
CREATE INDEX connections_tenant_status ON connections (tenant_id, status);

-- Status history with Microsoft's codes and trace IDs, for the admin pages.
CREATE TABLE connection_events (
  id             bigserial PRIMARY KEY,
  tenant_id      uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  connection_id  uuid NOT NULL,
  at             timestamptz NOT NULL DEFAULT now(),
  status         text NOT NULL,
  reason         text NOT NULL DEFAULT '',
  error_code     text NOT NULL DEFAULT '',
  trace_id       text NOT NULL DEFAULT '',
  correlation_id text NOT NULL DEFAULT '',
  FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX connection_events_connection ON connection_events (connection_id, at DESC);

-- One row per sign-in or admin-consent round trip: one-shot, short-lived.
CREATE TABLE oauth_flows (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  state_hash    bytea NOT NULL UNIQUE,
  kind          text NOT NULL CHECK (kind IN ('sign_in', 'reconnect', 'admin_consent')),
  connection_id uuid,
  session_hash  bytea NOT NULL,
  verifier_enc  bytea,
  nonce         text NOT NULL DEFAULT '',
  authority     text NOT NULL DEFAULT '',
  created_by    uuid,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  used_at       timestamptz,
  FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (created_by)
);
CREATE INDEX oauth_flows_expires ON oauth_flows (expires_at);

-- A key belongs to a tenant, except operator keys (scope 'operator', for the
-- admin JSON API across tenants), which belong to the platform: their
-- tenant_id is NULL, so only the cross-tenant role ever sees them.
CREATE TABLE api_keys (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id    uuid REFERENCES tenants(id) ON DELETE CASCADE,
  name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  prefix       text NOT NULL UNIQUE,         -- public lookup part of the key
  secret_hash  bytea NOT NULL,               -- SHA-256 of the 256-bit secret part
  project_ids  uuid[],                       -- NULL: every project of the tenant
  scope        text NOT NULL DEFAULT 'token' CHECK (scope IN ('token', 'admin', 'operator')),
  created_by   uuid,
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz,
  last_used_at timestamptz,
  CHECK ((scope = 'operator') = (tenant_id IS NULL)),
  FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (created_by)
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at DESC);
CREATE INDEX api_keys_revoked ON api_keys (revoked_at) WHERE revoked_at IS NOT NULL;

-- Append-only: the app role may insert and read, never change or remove.
CREATE TABLE audit_events (
  id            bigserial PRIMARY KEY,
  tenant_id     uuid REFERENCES tenants(id) ON DELETE CASCADE,
  at            timestamptz NOT NULL DEFAULT now(),
  actor_type    text NOT NULL CHECK (actor_type IN ('user', 'operator', 'api_key', 'system')),
  actor_id      text NOT NULL DEFAULT '',
  actor_label   text NOT NULL DEFAULT '',
  action        text NOT NULL,
  connection_id uuid,
  reason        text NOT NULL DEFAULT '',
  details       jsonb NOT NULL DEFAULT '{}',
  request_id    text NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_tenant_at ON audit_events (tenant_id, at DESC, id DESC);
CREATE INDEX audit_events_connection ON audit_events (connection_id, at DESC);

-- +goose StatementBegin
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

-- Row-level security, forced so the tables' owner is bound too. Roles other
-- than the two below get no policy at all, so they see nothing.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants TO broker_app USING (id = broker_tenant()) WITH CHECK (false);
CREATE POLICY across_tenants ON tenants TO broker_system USING (true) WITH CHECK (true);

ALTER TABLE operators ENABLE ROW LEVEL SECURITY;
ALTER TABLE operators FORCE ROW LEVEL SECURITY;
CREATE POLICY across_tenants ON operators TO broker_system USING (true) WITH CHECK (true);

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['projects', 'users', 'project_members', 'sessions', 'connections',
                           'connection_events', 'oauth_flows', 'api_keys', 'audit_events']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO broker_app
      USING (tenant_id = broker_tenant()) WITH CHECK (tenant_id = broker_tenant())', t);
    EXECUTE format('CREATE POLICY across_tenants ON %I TO broker_system USING (true) WITH CHECK (true)', t);
  END LOOP;
END
$$;
-- +goose StatementEnd

GRANT USAGE ON SCHEMA public TO broker_app, broker_system;
GRANT SELECT, INSERT, UPDATE, DELETE ON
  tenants, projects, users, project_members, sessions, connections,
  connection_events, oauth_flows, api_keys TO broker_app, broker_system;
GRANT SELECT, INSERT, UPDATE, DELETE ON operators TO broker_system;
GRANT SELECT, INSERT ON audit_events TO broker_app, broker_system;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO broker_app, broker_system;
GRANT EXECUTE ON FUNCTION broker_tenant() TO broker_app, broker_system;

-- +goose Down
DROP TABLE audit_events, api_keys, oauth_flows, connection_events, connections, sessions,
  operators, project_members, users, projects, tenants;
DROP FUNCTION audit_events_append_only();
DROP FUNCTION broker_tenant();
