-- +goose Up

-- Microsoft's Retry-After (or the broker's own back-off after a transient
-- failure), shared by every replica: none asks Microsoft for this
-- connection's token again before it. Written without bumping version, so
-- replicas' caches are not invalidated by it.
ALTER TABLE connections ADD COLUMN refresh_not_before timestamptz;

-- The keep-alive worker's scans: tokens about to expire, grants about to idle out.
CREATE INDEX connections_token_expiry ON connections (access_token_expires_at)
  WHERE status IN ('active', 'secret_expiring');
CREATE INDEX connections_last_refresh ON connections (coalesce(last_refresh_at, created_at))
  WHERE status IN ('active', 'secret_expiring') AND auth_type = 'authorization_code';

-- Who was handed a token for which connection, counted per hour instead of a
-- row per fetch: the token endpoint is the hot path. No token is stored.
-- api_key_id and connection_id carry no foreign key, so the record outlives
-- a deleted connection, as audit_events does.
CREATE TABLE token_usage (
  tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  hour          timestamptz NOT NULL,
  api_key_id    uuid NOT NULL,
  connection_id uuid NOT NULL,
  cached        bigint NOT NULL DEFAULT 0 CHECK (cached >= 0),    -- served from a cache (memory or Postgres)
  refreshed     bigint NOT NULL DEFAULT 0 CHECK (refreshed >= 0), -- served right after a refresh at Microsoft
  first_at      timestamptz NOT NULL,
  last_at       timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, hour, api_key_id, connection_id)
);
CREATE INDEX token_usage_connection ON token_usage (connection_id, hour DESC);
CREATE INDEX token_usage_key ON token_usage (api_key_id, hour DESC);

ALTER TABLE token_usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE token_usage FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON token_usage TO broker_app
  USING (tenant_id = broker_tenant()) WITH CHECK (tenant_id = broker_tenant());
CREATE POLICY across_tenants ON token_usage TO broker_system USING (true) WITH CHECK (true);

-- Counters only grow: no DELETE for the app role.
GRANT SELECT, INSERT, UPDATE ON token_usage TO broker_app, broker_system;

-- +goose Down
DROP TABLE token_usage;
DROP INDEX connections_last_refresh;
DROP INDEX connections_token_expiry;
ALTER TABLE connections DROP COLUMN refresh_not_before;
