-- +goose Up

-- Issue 17, the database at a million connections: status counts kept as
-- rows change, an index-backed search that row-level security does not
-- defeat, and a change feed for the replicas' caches.

-- ---------------------------------------------------------------------------
-- Status counts (store.CountConnectionsByStatus). One row per tenant,
-- project, status, auth type and account type: the list's filters other
-- than search and end user are all in the key, so the counts above the list
-- are a sum over a handful of rows instead of a count over a tenant's
-- connections. Triggers on connections keep it exact in the same
-- transaction as the change (TestConnectionCountsMatchCountStar).
CREATE TABLE connection_counts (
  tenant_id    uuid NOT NULL,
  project_id   uuid NOT NULL,
  status       text NOT NULL,
  auth_type    text NOT NULL,
  account_type text NOT NULL,
  n            bigint NOT NULL,
  PRIMARY KEY (tenant_id, project_id, status, auth_type, account_type),
  FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE
);

-- Inserts and deletes are counted per statement (a COPY or a tenant's
-- cascade is one aggregate), keys taken in order so concurrent writers
-- queue instead of deadlocking. Decrements only UPDATE: a counter row
-- missing at delete time went with its project.
-- +goose StatementBegin
CREATE FUNCTION connection_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO connection_counts AS k (tenant_id, project_id, status, auth_type, account_type, n)
    SELECT tenant_id, project_id, status, auth_type, account_type, count(*) FROM counted_new
    GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
  ON CONFLICT (tenant_id, project_id, status, auth_type, account_type) DO UPDATE SET n = k.n + EXCLUDED.n;
  RETURN NULL;
END
$$;
CREATE FUNCTION connection_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE connection_counts k SET n = k.n - d.n
    FROM (SELECT tenant_id, project_id, status, auth_type, account_type, count(*) AS n FROM counted_old
          GROUP BY 1, 2, 3, 4, 5) d
    WHERE (k.tenant_id, k.project_id, k.status, k.auth_type, k.account_type) =
          (d.tenant_id, d.project_id, d.status, d.auth_type, d.account_type);
  RETURN NULL;
END
$$;
-- A row that changes key moves one from its old counter to its new one,
-- the lower key first (the same order as the statement triggers').
CREATE FUNCTION connection_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  old_first boolean := (OLD.tenant_id, OLD.project_id, OLD.status, OLD.auth_type, OLD.account_type) <
                       (NEW.tenant_id, NEW.project_id, NEW.status, NEW.auth_type, NEW.account_type);
BEGIN
  IF old_first THEN
    UPDATE connection_counts SET n = n - 1 WHERE (tenant_id, project_id, status, auth_type, account_type) =
      (OLD.tenant_id, OLD.project_id, OLD.status, OLD.auth_type, OLD.account_type);
  END IF;
  INSERT INTO connection_counts AS k (tenant_id, project_id, status, auth_type, account_type, n)
    VALUES (NEW.tenant_id, NEW.project_id, NEW.status, NEW.auth_type, NEW.account_type, 1)
  ON CONFLICT (tenant_id, project_id, status, auth_type, account_type) DO UPDATE SET n = k.n + 1;
  IF NOT old_first THEN
    UPDATE connection_counts SET n = n - 1 WHERE (tenant_id, project_id, status, auth_type, account_type) =
      (OLD.tenant_id, OLD.project_id, OLD.status, OLD.auth_type, OLD.account_type);
  END IF;
  RETURN NULL;
END
$$;
-- +goose StatementEnd

-- The backfill and the search view below read every tenant's connections as
-- whoever runs the migrations (the tables' owner, bound by FORCEd RLS). The
-- owner may lift row-level security from its own tables at any time (00006
-- does), so letting it SELECT them gives it nothing new; the runtime roles'
-- policies are unchanged.
CREATE POLICY owner_reads ON connections FOR SELECT TO CURRENT_USER USING (true);

-- Taken while the triggers below are being created in this transaction:
-- CREATE TRIGGER holds off writers until commit, so nothing is missed.
CREATE TRIGGER connections_count_insert AFTER INSERT ON connections
  REFERENCING NEW TABLE AS counted_new FOR EACH STATEMENT EXECUTE FUNCTION connection_counts_insert();
CREATE TRIGGER connections_count_delete AFTER DELETE ON connections
  REFERENCING OLD TABLE AS counted_old FOR EACH STATEMENT EXECUTE FUNCTION connection_counts_delete();
CREATE TRIGGER connections_count_update AFTER UPDATE OF tenant_id, project_id, status, auth_type, account_type
  ON connections FOR EACH ROW
  WHEN ((OLD.tenant_id, OLD.project_id, OLD.status, OLD.auth_type, OLD.account_type) IS DISTINCT FROM
        (NEW.tenant_id, NEW.project_id, NEW.status, NEW.auth_type, NEW.account_type))
  EXECUTE FUNCTION connection_counts_update();
INSERT INTO connection_counts (tenant_id, project_id, status, auth_type, account_type, n)
  SELECT tenant_id, project_id, status, auth_type, account_type, count(*) FROM connections GROUP BY 1, 2, 3, 4, 5;

ALTER TABLE connection_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE connection_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON connection_counts TO broker_app
  USING (tenant_id = broker_tenant()) WITH CHECK (tenant_id = broker_tenant());
CREATE POLICY across_tenants ON connection_counts TO broker_system USING (true) WITH CHECK (true);
-- The triggers run as the writer, so both roles write; they read through RLS.
GRANT SELECT, INSERT, UPDATE ON connection_counts TO broker_app, broker_system;

-- ---------------------------------------------------------------------------
-- Search (ConnectionQuery.Search): a case-insensitive substring of the name,
-- the account or the end user. One trigram index over the five fields
-- joined by a unit separator (U+001F, which the list refuses in a search,
-- so a match never spans two fields); store.searchDoc is the same expression.
-- pg_trgm ships with Postgres (contrib) and is a trusted extension since
-- Postgres 13: the database's owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX connections_search ON connections USING gin (lower(name || E'\x1f' || account_username || E'\x1f' ||
  end_user_id || E'\x1f' || end_user_email || E'\x1f' || end_user_display_name) gin_trgm_ops);

-- Under broker_app's policy a LIKE (not leakproof) may only be checked after
-- the tenant predicate, never as an index condition, so a tenant's search
-- could not use the index. This view reads connections as its owner (the
-- policy above) and applies the tenant predicate and the search itself,
-- both inside one security barrier: the planner may check the LIKE first,
-- through the index, and any condition a caller adds from outside runs only
-- on what the view yields, the current tenant's rows (injected SQL learns
-- nothing of other tenants from errors). The pattern comes from
-- broker.search, set per transaction by the store like broker.tenant_id; no
-- tenant or no pattern: no rows (TestSearchStaysInTheTenant). The tenant
-- test is IS NOT DISTINCT FROM, not =, on purpose: an equality would join
-- the planner's equivalence class with the list's RLS predicate on
-- connections and bring that predicate's security level onto this scan,
-- and the index would be lost again. It yields IDs only; the list joins
-- back to connections under RLS.
CREATE VIEW connection_search WITH (security_barrier) AS
  SELECT id FROM connections
  WHERE tenant_id IS NOT DISTINCT FROM broker_tenant()
    AND lower(name || E'\x1f' || account_username || E'\x1f' || end_user_id || E'\x1f' ||
              end_user_email || E'\x1f' || end_user_display_name) LIKE current_setting('broker.search', true);
GRANT SELECT ON connection_search TO broker_app;

-- The same without the tenant, for operators: broker_system sees every row
-- anyway, but its policy (USING true) still keeps the planner from the
-- column statistics for a LIKE, so it took '%mailbox%' (every row) for a
-- hundred rows and sorted a million. Read as the owner, the estimate is
-- right; the store asks it which way to go (store.searchPlan).
CREATE VIEW connection_search_all WITH (security_barrier) AS
  SELECT id FROM connections
  WHERE lower(name || E'\x1f' || account_username || E'\x1f' || end_user_id || E'\x1f' ||
              end_user_email || E'\x1f' || end_user_display_name) LIKE current_setting('broker.search', true);
GRANT SELECT ON connection_search_all TO broker_system;

-- ---------------------------------------------------------------------------
-- Change feed (store.ConnectionChangesSince, the replicas' change poll):
-- a write that changes what a cached connection serves (its version or
-- status) stamps the row with its transaction's ID; a deletion leaves a
-- tombstone stamped the same way. A poll reads the stamps at or above the
-- oldest transaction still running at its previous poll, so a change that
-- commits late is read by the next poll (see ConnectionChangesSince).
ALTER TABLE connections ADD COLUMN change_xid xid8;
CREATE INDEX connections_change_xid ON connections (change_xid) WHERE change_xid IS NOT NULL;
-- +goose StatementBegin
CREATE FUNCTION connections_mark_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.change_xid := pg_current_xact_id();
  RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER connections_mark_change BEFORE UPDATE ON connections FOR EACH ROW
  WHEN (OLD.version IS DISTINCT FROM NEW.version OR OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION connections_mark_change();

CREATE TABLE connection_deletions (
  connection_id uuid NOT NULL,
  tenant_id     uuid NOT NULL,
  change_xid    xid8 NOT NULL DEFAULT pg_current_xact_id(),
  deleted_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX connection_deletions_xid ON connection_deletions (change_xid);
CREATE INDEX connection_deletions_at ON connection_deletions (deleted_at);
ALTER TABLE connection_deletions ENABLE ROW LEVEL SECURITY;
ALTER TABLE connection_deletions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON connection_deletions TO broker_app
  USING (tenant_id = broker_tenant()) WITH CHECK (tenant_id = broker_tenant());
CREATE POLICY across_tenants ON connection_deletions TO broker_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT ON connection_deletions TO broker_app;
GRANT SELECT, INSERT, DELETE ON connection_deletions TO broker_system;
-- +goose StatementBegin
CREATE FUNCTION connections_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO connection_deletions (connection_id, tenant_id) SELECT id, tenant_id FROM tombstoned;
  RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER connections_tombstone AFTER DELETE ON connections
  REFERENCING OLD TABLE AS tombstoned FOR EACH STATEMENT EXECUTE FUNCTION connections_tombstone();

-- Room on each page for the usage flush's last_used_at (not indexed) to be
-- a heap-only update instead of a new entry in every index.
ALTER TABLE connections SET (fillfactor = 85);

-- +goose Down
ALTER TABLE connections RESET (fillfactor);
DROP TRIGGER connections_tombstone ON connections;
DROP FUNCTION connections_tombstone();
DROP TABLE connection_deletions;
DROP TRIGGER connections_mark_change ON connections;
DROP FUNCTION connections_mark_change();
DROP INDEX connections_change_xid;
ALTER TABLE connections DROP COLUMN change_xid;
DROP VIEW connection_search_all;
DROP VIEW connection_search;
DROP INDEX connections_search;
DROP TRIGGER connections_count_update ON connections;
DROP TRIGGER connections_count_delete ON connections;
DROP TRIGGER connections_count_insert ON connections;
DROP POLICY owner_reads ON connections;
DROP TABLE connection_counts;
DROP FUNCTION connection_counts_update();
DROP FUNCTION connection_counts_delete();
DROP FUNCTION connection_counts_insert();
