-- +goose Up

-- Connect links (docs/connect.md): a product's backend asks for a one-time
-- URL (POST /api/v1/connect-sessions) and sends its own user, who has no
-- broker login, to the hosted page to connect a mailbox.

-- Who a connection is for in the product that made it, and the product's
-- own labels (a small string map). Empty for connections made in the broker.
ALTER TABLE connections
  ADD COLUMN end_user_id text NOT NULL DEFAULT '' CHECK (length(end_user_id) <= 200),
  ADD COLUMN end_user_email text NOT NULL DEFAULT '' CHECK (length(end_user_email) <= 320),
  ADD COLUMN end_user_display_name text NOT NULL DEFAULT '' CHECK (length(end_user_display_name) <= 200),
  ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object');
CREATE INDEX connections_end_user ON connections (tenant_id, end_user_id) WHERE end_user_id <> '';

-- A tenant's connect page: its name and look, and where a finished session
-- may send the browser back to (origins, compared exactly).
CREATE TABLE connect_settings (
  tenant_id              uuid PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  display_name           text NOT NULL DEFAULT '' CHECK (length(display_name) <= 100),
  logo_url               text NOT NULL DEFAULT '' CHECK (logo_url = '' OR logo_url ~ '^https?://' AND length(logo_url) <= 2000),
  brand_color            text NOT NULL DEFAULT '' CHECK (brand_color = '' OR brand_color ~ '^#[0-9a-f]{6}$'),
  allowed_return_origins text[] NOT NULL DEFAULT '{}',
  updated_at             timestamptz NOT NULL DEFAULT now()
);

-- One connect link. Only the SHA-256 of its token is kept, as for API keys:
-- a database read yields no link that works. browser_hash binds it to the
-- first browser that opened it (the SHA-256 of a secret in that browser's
-- cookie). status 'expired' is also what a pending row past expires_at reads as.
CREATE TABLE connect_sessions (
  id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id               uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  project_id              uuid NOT NULL,
  token_hash              bytea NOT NULL UNIQUE,
  status                  text NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'completed', 'failed', 'expired', 'revoked')),
  failure_reason          text NOT NULL DEFAULT '',
  end_user_id             text NOT NULL CHECK (length(end_user_id) BETWEEN 1 AND 200),
  end_user_email          text NOT NULL DEFAULT '',
  end_user_display_name   text NOT NULL DEFAULT '',
  connection_name         text NOT NULL DEFAULT '',
  allowed_account_types   text[] NOT NULL DEFAULT '{}',
  allowed_auth_types      text[] NOT NULL DEFAULT '{}',
  scopes                  text[] NOT NULL DEFAULT '{}',
  reconnect_connection_id uuid,
  return_url              text NOT NULL DEFAULT '',
  metadata                jsonb NOT NULL DEFAULT '{}',
  browser_hash            bytea,
  opened_at               timestamptz,
  connection_id           uuid,
  created_by_key          uuid,            -- no foreign key: the record outlives the key
  created_by_label        text NOT NULL DEFAULT '',
  created_at              timestamptz NOT NULL DEFAULT now(),
  expires_at              timestamptz NOT NULL,
  finished_at             timestamptz,
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, reconnect_connection_id) REFERENCES connections (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id) ON DELETE SET NULL (connection_id)
);
CREATE INDEX connect_sessions_tenant_created ON connect_sessions (tenant_id, created_at DESC);
CREATE INDEX connect_sessions_expires ON connect_sessions (expires_at);

-- A sign-in started from a connect page finishes that session at the callback.
ALTER TABLE oauth_flows ADD COLUMN connect_session_id uuid;
ALTER TABLE oauth_flows ADD FOREIGN KEY (tenant_id, connect_session_id)
  REFERENCES connect_sessions (tenant_id, id) ON DELETE CASCADE;

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['connect_settings', 'connect_sessions'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO broker_app
      USING (tenant_id = broker_tenant()) WITH CHECK (tenant_id = broker_tenant())', t);
    EXECUTE format('CREATE POLICY across_tenants ON %I TO broker_system USING (true) WITH CHECK (true)', t);
  END LOOP;
END
$$;
-- +goose StatementEnd

GRANT SELECT, INSERT, UPDATE, DELETE ON connect_settings, connect_sessions TO broker_app, broker_system;

-- +goose Down
ALTER TABLE oauth_flows DROP COLUMN connect_session_id;
DROP TABLE connect_sessions;
DROP TABLE connect_settings;
DROP INDEX connections_end_user;
ALTER TABLE connections DROP COLUMN metadata, DROP COLUMN end_user_display_name, DROP COLUMN end_user_email,
  DROP COLUMN end_user_id;
