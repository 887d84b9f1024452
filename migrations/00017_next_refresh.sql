-- +goose Up

-- Keep-alive claims by one index (issue 17): every connection carries the
-- time it next becomes due, next_refresh_at, kept by a trigger on every
-- write that changes what the due condition reads (the usage flush's
-- last_used_at included), so the claim is one range scan:
-- next_refresh_at <= now ORDER BY next_refresh_at LIMIT n FOR UPDATE SKIP LOCKED.
--
-- The due condition's three reasons (internal/tokens/keepalive.go decides
-- which one holds when a row is claimed):
--   in use:  status active/secret_expiring, access token expiring within
--            expires_within while the row is still "in use" (last used
--            within used_within): due at expiry - expires_within, if that
--            moment is inside the in-use window and the window is still
--            open when the row is written (the database's clock);
--   idle:    an authorization-code grant with a refresh token not refreshed
--            for idle_after: due at coalesce(last_refresh_at, created_at) + idle_after;
--   secret:  an active client-credentials row whose secret expires within
--            secret_warning: due at expiry - secret_warning.
-- The earliest of them, never before refresh_not_before (Retry-After,
-- back-off). NULL: never due (needs_reauth, disabled, nothing to refresh).
--
-- The windows are the keep-alive's policy (KeepAliveOptions), one row the
-- trigger reads; a replica claiming with another policy rewrites it and
-- recomputes every row (store.ClaimDueConnections), so all replicas must
-- run the same one (the server's is fixed, not configuration).
CREATE TABLE keepalive_policy (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  used_within interval NOT NULL,
  expires_within interval NOT NULL,
  idle_after interval NOT NULL,
  secret_warning interval NOT NULL
);
INSERT INTO keepalive_policy (used_within, expires_within, idle_after, secret_warning)
  VALUES (interval '1 hour', interval '10 minutes', interval '14 days', interval '14 days');
GRANT SELECT ON keepalive_policy TO broker_app, broker_system;
GRANT UPDATE ON keepalive_policy TO broker_system;

ALTER TABLE connections ADD COLUMN next_refresh_at timestamptz;

-- +goose StatementBegin
CREATE FUNCTION connections_next_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  p keepalive_policy;
  in_use timestamptz;
  idle timestamptz;
  secret timestamptz;
  due timestamptz;
BEGIN
  SELECT * INTO p FROM keepalive_policy;
  IF NEW.status IN ('active', 'secret_expiring') THEN
    in_use := NEW.access_token_expires_at - p.expires_within;
    -- Not in use by the time it would be due, or no longer in use now
    -- (a window that closed unclaimed, as a backfill or seed finds many).
    IF (greatest(in_use, NEW.refresh_not_before, now()) <= NEW.last_used_at + p.used_within)
        IS NOT TRUE THEN
      in_use := NULL;
    END IF;
    IF NEW.auth_type = 'authorization_code' AND NEW.refresh_token_enc IS NOT NULL THEN
      idle := coalesce(NEW.last_refresh_at, NEW.created_at) + p.idle_after;
    END IF;
  END IF;
  IF NEW.status = 'active' AND NEW.auth_type = 'client_credentials' THEN
    secret := NEW.client_secret_expires_at - p.secret_warning;
  END IF;
  due := least(in_use, idle, secret);
  IF due IS NOT NULL THEN
    due := greatest(due, NEW.refresh_not_before);
  END IF;
  NEW.next_refresh_at := due;
  RETURN NEW;
END
$$;
-- +goose StatementEnd

-- Writes that touch none of these (a lease taken or released, a name, the
-- version) leave next_refresh_at alone and do not run the trigger. Setting
-- next_refresh_at itself recomputes it: the column is always the function
-- of its row.
CREATE TRIGGER connections_next_refresh
  BEFORE INSERT OR UPDATE OF status, auth_type, refresh_token_enc, access_token_expires_at, last_used_at,
    last_refresh_at, created_at, client_secret_expires_at, refresh_not_before, next_refresh_at
  ON connections FOR EACH ROW EXECUTE FUNCTION connections_next_refresh();

UPDATE connections SET next_refresh_at = NULL; -- backfill: the trigger computes it

CREATE INDEX connections_next_refresh ON connections (next_refresh_at) WHERE next_refresh_at IS NOT NULL;

-- The three half-condition indexes the claim used before: no query reads
-- them now, and every refresh had to update two of them.
DROP INDEX connections_token_expiry;
DROP INDEX connections_last_refresh;
DROP INDEX connections_due_secret;

-- +goose Down
CREATE INDEX connections_due_secret ON connections (client_secret_expires_at)
  WHERE status = 'active' AND auth_type = 'client_credentials';
CREATE INDEX connections_last_refresh ON connections (coalesce(last_refresh_at, created_at))
  WHERE status IN ('active', 'secret_expiring') AND auth_type = 'authorization_code';
CREATE INDEX connections_token_expiry ON connections (access_token_expires_at)
  WHERE status IN ('active', 'secret_expiring');
DROP INDEX connections_next_refresh;
DROP TRIGGER connections_next_refresh ON connections;
DROP FUNCTION connections_next_refresh();
ALTER TABLE connections DROP COLUMN next_refresh_at;
DROP TABLE keepalive_policy;
