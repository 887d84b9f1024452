-- +goose Up

-- The outbox: what happened, written in the transaction of the change it
-- describes, so a change and its event commit together or not at all.
-- tenant_id NULL is a broker-wide event (broker.health_changed, operator
-- keys), which only broker_system sees. No foreign key on connection_id:
-- connection.deleted must outlive its connection. id orders a tenant's
-- events: writers take a per-tenant advisory lock before taking an id, so
-- within a tenant ids commit in order and a keyset reader never skips one.
CREATE TABLE events (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id     uuid REFERENCES tenants(id) ON DELETE CASCADE,
  type          text NOT NULL CHECK (type ~ '^[a-z_]+\.[a-z_]+$'),
  connection_id uuid,
  project_id    uuid,
  payload       jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_tenant ON events (tenant_id, id);
CREATE INDEX events_connection ON events (connection_id, id DESC) WHERE connection_id IS NOT NULL;

-- Webhook endpoints. tenant_id NULL: a broker-wide endpoint of the
-- operators, for broker-wide events. The signing secret is sealed with the
-- key ring (secrets.Place binds it to this row); during a rotation the
-- previous secret signs too, until previous_secret_until.
CREATE TABLE webhook_endpoints (
  id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id             uuid REFERENCES tenants(id) ON DELETE CASCADE,
  url                   text NOT NULL CHECK (length(url) BETWEEN 8 AND 2048),
  description           text NOT NULL DEFAULT '' CHECK (length(description) <= 200),
  event_types           text[] NOT NULL DEFAULT '{}',  -- empty: every type
  project_ids           uuid[],                        -- NULL: every project
  enabled               boolean NOT NULL DEFAULT true,
  disabled_reason       text NOT NULL DEFAULT '',
  disabled_at           timestamptz,
  secret_enc            bytea NOT NULL,
  previous_secret_enc   bytea,
  previous_secret_until timestamptz,
  failing_since         timestamptz,                   -- first failed attempt since the last success
  created_by            text NOT NULL DEFAULT '',
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, created_at);

-- One event for one endpoint. Workers on every replica claim due rows with
-- FOR UPDATE SKIP LOCKED and hold a lease (lease_holder, lease_until) for
-- the attempt, so each attempt happens once; only the head (lowest event)
-- of an endpoint's pending rows is ever claimed, which keeps its order.
CREATE TABLE webhook_deliveries (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id        uuid REFERENCES tenants(id) ON DELETE CASCADE,
  endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
  event_id         bigint NOT NULL REFERENCES events(id) ON DELETE CASCADE,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  lease_holder     uuid,
  lease_until      timestamptz,
  last_attempt_at  timestamptz,
  last_status_code integer,
  last_error       text NOT NULL DEFAULT '',
  last_duration_ms integer,
  delivered_at     timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, event_id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at DESC);

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['events', 'webhook_endpoints', 'webhook_deliveries'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO broker_app
      USING (tenant_id = broker_tenant()) WITH CHECK (tenant_id = broker_tenant())', t);
    EXECUTE format('CREATE POLICY across_tenants ON %I TO broker_system USING (true) WITH CHECK (true)', t);
  END LOOP;
END
$$;
-- +goose StatementEnd

-- Events are append-only for the app (the tenant's cascade removes them).
GRANT SELECT, INSERT ON events TO broker_app, broker_system;
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoints, webhook_deliveries TO broker_app, broker_system;

-- +goose Down
DROP TABLE webhook_deliveries, webhook_endpoints, events;
