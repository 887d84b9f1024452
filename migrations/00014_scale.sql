-- +goose Up

-- A key's own rate limit (issue 17): NULL takes the server's default
-- (BROKER_API_KEY_RATE, BROKER_API_KEY_BURST).
ALTER TABLE api_keys
  ADD COLUMN rate_limit double precision CHECK (rate_limit IS NULL OR (rate_limit > 0 AND rate_limit <= 1000000)),
  ADD COLUMN rate_burst integer CHECK (rate_burst IS NULL OR (rate_burst >= 1 AND rate_burst <= 1000000));

-- Keep-alive claims by index (internal/store/keepalive.go): each half of the
-- due condition is a range scan of an index holding only the rows it can
-- take. Tokens and idle grants have theirs since 00002
-- (connections_token_expiry, connections_last_refresh); this is the third.
CREATE INDEX connections_due_secret ON connections (client_secret_expires_at)
  WHERE status = 'active' AND auth_type = 'client_credentials';

-- +goose Down
DROP INDEX connections_due_secret;
ALTER TABLE api_keys DROP COLUMN rate_burst, DROP COLUMN rate_limit;
