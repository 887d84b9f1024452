-- +goose Up

-- A project's optional allowlist for the Graph proxy: a request is forwarded
-- when some rule's method (or '*') and path prefix match it. A project with
-- no rule may call any Graph path. Prefixes start with a Graph version and
-- match whole segments (/v1.0/me/messages covers /v1.0/me/messages/{id}).
CREATE TABLE graph_policies (
  tenant_id   uuid NOT NULL,
  project_id  uuid NOT NULL,
  method      text NOT NULL CHECK (method IN ('*', 'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE')),
  path_prefix text NOT NULL CHECK (path_prefix ~ '^/(v1\.0|beta)(/[^/?#]+)*$' AND length(path_prefix) <= 512),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, project_id, method, path_prefix),
  FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE
);

-- Who called Graph through the proxy for which connection, and what Graph
-- (or the broker) answered, counted per hour and status instead of a row per
-- request. Never a body, a path or a query. As token_usage, no foreign key
-- on api_key_id and connection_id, so the record outlives them.
CREATE TABLE graph_usage (
  tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  hour          timestamptz NOT NULL,
  api_key_id    uuid NOT NULL,
  connection_id uuid NOT NULL,
  status        smallint NOT NULL CHECK (status BETWEEN 100 AND 599),
  requests      bigint NOT NULL DEFAULT 0 CHECK (requests >= 0),
  bytes_in      bigint NOT NULL DEFAULT 0 CHECK (bytes_in >= 0),  -- request bodies sent to Graph
  bytes_out     bigint NOT NULL DEFAULT 0 CHECK (bytes_out >= 0), -- response bodies sent to callers
  first_at      timestamptz NOT NULL,
  last_at       timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, hour, api_key_id, connection_id, status)
);
CREATE INDEX graph_usage_connection ON graph_usage (connection_id, hour DESC);

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['graph_policies', 'graph_usage'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO broker_app
      USING (tenant_id = broker_tenant()) WITH CHECK (tenant_id = broker_tenant())', t);
    EXECUTE format('CREATE POLICY across_tenants ON %I TO broker_system USING (true) WITH CHECK (true)', t);
  END LOOP;
END
$$;
-- +goose StatementEnd

GRANT SELECT, INSERT, DELETE ON graph_policies TO broker_app, broker_system;
-- Counters only grow: no DELETE for the app role.
GRANT SELECT, INSERT, UPDATE ON graph_usage TO broker_app, broker_system;

-- +goose Down
DROP TABLE graph_usage;
DROP TABLE graph_policies;
