-- +goose Up

-- The audit page reads three append-only sources newest first, a page at a
-- time: audit_events, connection_events (status changes with Microsoft's
-- codes) and token_usage (fetches per key, connection and hour). Within a
-- tenant each needs an index in that order; operators read across tenants,
-- so each needs one without the tenant too.
CREATE INDEX connection_events_tenant_at ON connection_events (tenant_id, at DESC, id DESC);
CREATE INDEX connection_events_at ON connection_events (at DESC, id DESC);
CREATE INDEX audit_events_at ON audit_events (at DESC, id DESC);
CREATE INDEX token_usage_hour ON token_usage (hour DESC, api_key_id DESC, connection_id DESC);

-- +goose Down
DROP INDEX token_usage_hour;
DROP INDEX audit_events_at;
DROP INDEX connection_events_at;
DROP INDEX connection_events_tenant_at;
