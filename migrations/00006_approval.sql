-- +goose Up

-- Approval is a fact of its own, not a status: a connection made while its
-- tenant required approval (needs_approval) serves no tokens until an admin
-- approves it (approved_at, approved_by), whatever status a test, a
-- reconnect or a refresh gives it meanwhile. Before this, approval lived in
-- status 'awaiting_approval' only, which a failed test and then a working
-- reconnect could overwrite to 'active' without anyone approving.
ALTER TABLE connections
  ADD COLUMN needs_approval boolean NOT NULL DEFAULT false,
  ADD COLUMN approved_at timestamptz,
  ADD COLUMN approved_by text NOT NULL DEFAULT '';

-- The backfill reads every tenant: whoever owns the tables runs it (RLS is
-- FORCEd, so lift it for this transaction only; DDL is transactional).
ALTER TABLE connections NO FORCE ROW LEVEL SECURITY;
ALTER TABLE connection_events NO FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_events NO FORCE ROW LEVEL SECURITY;

-- Every connection that was ever awaiting approval needs it; those an admin
-- approved (the audit log says so) keep that approval. The others, among
-- them any that got around approval the old way, wait for one again.
UPDATE connections c SET needs_approval = true
  WHERE EXISTS (SELECT 1 FROM connection_events e WHERE e.connection_id = c.id AND e.status = 'awaiting_approval');
UPDATE connections c SET approved_at = a.at, approved_by = a.actor_label
  FROM (SELECT DISTINCT ON (connection_id) connection_id, at, actor_label FROM audit_events
        WHERE action = 'connection.approved' ORDER BY connection_id, at DESC) a
  WHERE a.connection_id = c.id AND c.needs_approval;
UPDATE connections SET status = 'awaiting_approval', status_changed_at = now(), version = version + 1,
    status_reason = 'Waiting for an administrator''s approval.', status_code = '', status_trace_id = ''
  WHERE needs_approval AND approved_at IS NULL AND status IN ('active', 'secret_expiring');

ALTER TABLE connections FORCE ROW LEVEL SECURITY;
ALTER TABLE connection_events FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;

-- The database holds the rule too: an unapproved connection is never in a
-- status that serves tokens.
ALTER TABLE connections ADD CONSTRAINT connections_approved_to_serve
  CHECK (NOT needs_approval OR approved_at IS NOT NULL OR status NOT IN ('active', 'secret_expiring'));

-- +goose Down
ALTER TABLE connections DROP CONSTRAINT connections_approved_to_serve;
ALTER TABLE connections DROP COLUMN approved_by, DROP COLUMN approved_at, DROP COLUMN needs_approval;
