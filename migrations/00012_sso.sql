-- +goose Up

-- Single sign-on with Microsoft Entra ID (README, "Sign in with Microsoft").
--
-- sso_links: the Entra tenants whose people may sign in to a broker tenant.
-- An Entra tenant links to one broker tenant at most (the primary key), so the
-- sign-in, which knows only the id_token's tid, finds its tenant unambiguously.
-- A row exists only after an admin of the broker tenant signed in with an
-- account of that Entra tenant (verified_by, verified_oid).
CREATE TABLE sso_links (
  entra_tenant_id text PRIMARY KEY CHECK (entra_tenant_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'),
  tenant_id       uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  verified_by     uuid,
  verified_upn    text NOT NULL DEFAULT '',
  verified_oid    text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sso_links_tenant ON sso_links (tenant_id);

-- sso_identities: a broker user is an Entra account by (tid, oid), never by
-- email (a mailbox address can be reassigned; an object ID cannot).
CREATE TABLE sso_identities (
  entra_tenant_id text NOT NULL,
  entra_object_id text NOT NULL,
  tenant_id       uuid NOT NULL,
  user_id         uuid NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (entra_tenant_id, entra_object_id),
  UNIQUE (tenant_id, user_id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

-- sso_rules: an Entra group (object ID, from the groups claim) or app role
-- (value, from the roles claim) gives a broker role and projects at sign-in.
CREATE TABLE sso_rules (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id   uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  claim       text NOT NULL CHECK (claim IN ('group', 'role')),
  value       text NOT NULL CHECK (length(value) BETWEEN 1 AND 200),
  role        text NOT NULL CHECK (role IN ('admin', 'member')),
  project_ids uuid[] NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, claim, value)
);

-- The tenant's "require single sign-on": passwords are refused for its users
-- (except the operator's break-glass accounts, BROKER_SSO_BREAK_GLASS).
-- Written like require_approval, by broker_system only.
ALTER TABLE tenants ADD COLUMN require_sso boolean NOT NULL DEFAULT false;

-- How a session signed in: re-authentication asks the same way again.
ALTER TABLE sessions ADD COLUMN auth_method text NOT NULL DEFAULT 'password'
  CHECK (auth_method IN ('password', 'microsoft'));

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['sso_links', 'sso_identities', 'sso_rules'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO broker_app
      USING (tenant_id = broker_tenant()) WITH CHECK (tenant_id = broker_tenant())', t);
    EXECUTE format('CREATE POLICY across_tenants ON %I TO broker_system USING (true) WITH CHECK (true)', t);
  END LOOP;
END
$$;
-- +goose StatementEnd

GRANT SELECT, INSERT, DELETE ON sso_links, sso_identities, sso_rules TO broker_app, broker_system;

-- +goose Down
DROP TABLE sso_rules;
DROP TABLE sso_identities;
DROP TABLE sso_links;
ALTER TABLE sessions DROP COLUMN auth_method;
ALTER TABLE tenants DROP COLUMN require_sso;
