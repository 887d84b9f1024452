-- +goose Up

-- Each tenant's own app registrations (issue 16, part 3; docs/tenant-apps.md).
-- A tenant admin registers an Entra app registration of their organisation;
-- authorization-code connections made through it sign in, refresh and ask
-- for admin consent as that app instead of the broker's own.
--
-- credential_enc is sealed with the broker's keyring like connection
-- secrets (internal/secrets, table/column/row/tenant bound): a client
-- secret's Value, or a certificate's PKCS#8 key with its certificate
-- (oauth.Certificate.Encode). Key rotation re-seals it (store/rotate.go).
-- certificate_thumbprint (public: the portal lists it) is set exactly when
-- the credential is a certificate; credential_expires_at is the secret's
-- expiry as the admin entered it, or the certificate's own.
--
-- failure_*: the app is refused by Microsoft (a wrong, expired or deleted
-- secret, a removed certificate, a disabled or deleted app): one condition
-- of the tenant, shown once, instead of every connection marked broken.
CREATE TABLE app_registrations (
  id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id              uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  client_id              text NOT NULL CHECK (client_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'),
  home_tenant_id         text NOT NULL CHECK (home_tenant_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'),
  audience               text NOT NULL CHECK (audience IN ('single', 'multiple_orgs', 'orgs_and_personal', 'personal')),
  display_name           text NOT NULL DEFAULT '' CHECK (length(display_name) <= 100),
  credential_enc         bytea NOT NULL,
  certificate_thumbprint text CHECK (certificate_thumbprint ~ '^[0-9A-F]{64}$'),
  credential_expires_at  timestamptz,
  credential_changed_at  timestamptz NOT NULL DEFAULT now(),
  verified_at            timestamptz NOT NULL,
  failure_code           text NOT NULL DEFAULT '',
  failure_summary        text NOT NULL DEFAULT '',
  failure_trace_id       text NOT NULL DEFAULT '',
  failing_since          timestamptz,
  created_by             uuid,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, client_id),
  FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (created_by)
);

-- A project's default app for its new connections (NULL: the broker's).
-- Deleting the app puts its projects back on the broker's app.
ALTER TABLE projects ADD COLUMN app_id uuid;
ALTER TABLE projects ADD CONSTRAINT projects_app FOREIGN KEY (tenant_id, app_id)
  REFERENCES app_registrations (tenant_id, id) ON DELETE SET NULL (app_id);

-- The app a connection was made with (NULL: the broker's). Its refresh
-- token belongs to that app, so the app is fixed for the connection's life:
-- the app cannot be deleted while connections use it, and the column never
-- changes once written.
ALTER TABLE connections ADD COLUMN app_id uuid;
ALTER TABLE connections ADD CONSTRAINT connections_app FOREIGN KEY (tenant_id, app_id)
  REFERENCES app_registrations (tenant_id, id) ON DELETE RESTRICT;
CREATE INDEX connections_app ON connections (app_id) WHERE app_id IS NOT NULL;

-- +goose StatementBegin
CREATE FUNCTION connections_app_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.app_id IS DISTINCT FROM OLD.app_id THEN
    RAISE EXCEPTION 'a connection''s app registration cannot change' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER connections_app_fixed BEFORE UPDATE OF app_id ON connections
  FOR EACH ROW EXECUTE FUNCTION connections_app_fixed();

ALTER TABLE app_registrations ENABLE ROW LEVEL SECURITY;
ALTER TABLE app_registrations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON app_registrations TO broker_app
  USING (tenant_id = broker_tenant()) WITH CHECK (tenant_id = broker_tenant());
CREATE POLICY across_tenants ON app_registrations TO broker_system USING (true) WITH CHECK (true);

GRANT SELECT, INSERT, UPDATE, DELETE ON app_registrations TO broker_app, broker_system;

-- +goose Down
DROP TRIGGER connections_app_fixed ON connections;
DROP FUNCTION connections_app_fixed();
DROP INDEX connections_app;
ALTER TABLE connections DROP COLUMN app_id;
ALTER TABLE projects DROP COLUMN app_id;
DROP TABLE app_registrations;
