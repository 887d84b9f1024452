-- +goose Up

-- A key's own rate limit (issue 17): NULL takes the server's default
-- (BROKER_API_KEY_RATE, BROKER_API_KEY_BURST).
ALTER TABLE api_keys
  ADD COLUMN rate_limit double precision CHECK (rate_limit IS NULL OR (rate_limit > 0 AND rate_limit <= 1000000)),
  ADD COLUMN rate_burst integer CHECK (rate_burst IS NULL OR (rate_burst >= 1 AND rate_burst <= 1000000));

-- Keep-alive claims by index (internal/store/keepalive.go): one index per
-- half of the due condition, each holding only the rows that half can
-- take, so a batch claim is a short range scan at a million rows.
CREATE INDEX connections_due_token ON connections (access_token_expires_at)
  WHERE status IN ('active', 'secret_expiring');
CREATE INDEX connections_due_idle ON connections ((coalesce(last_refresh_at, created_at)))
  WHERE status IN ('active', 'secret_expiring') AND auth_type = 'authorization_code' AND refresh_token_enc IS NOT NULL;
CREATE INDEX connections_due_secret ON connections (client_secret_expires_at)
  WHERE status = 'active' AND auth_type = 'client_credentials';

-- +goose Down
DROP INDEX connections_due_secret;
DROP INDEX connections_due_idle;
DROP INDEX connections_due_token;
ALTER TABLE api_keys DROP COLUMN rate_burst, DROP COLUMN rate_limit;
