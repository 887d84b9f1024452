-- +goose Up

-- A key's own rate limit (issue 17): NULL takes the server's default
-- (BROKER_API_KEY_RATE, BROKER_API_KEY_BURST).
ALTER TABLE api_keys
  ADD COLUMN rate_limit double precision CHECK (rate_limit IS NULL OR (rate_limit > 0 AND rate_limit <= 1000000)),
  ADD COLUMN rate_burst integer CHECK (rate_burst IS NULL OR (rate_burst >= 1 AND rate_burst <= 1000000));

-- +goose Down
ALTER TABLE api_keys DROP COLUMN rate_burst, DROP COLUMN rate_limit;
