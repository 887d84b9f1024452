-- +goose Up

-- A refresh is claimed, not locked: the claimer writes its holder ID and a
-- lease expiry in a short transaction, commits, asks Microsoft with no
-- transaction open, and writes the result only while the holder ID is still
-- its own (fencing). A holder that dies or freezes loses the claim when the
-- lease runs out (the database's clock decides), without anyone holding a
-- pooled connection meanwhile. refresh_failures counts transient failures
-- in a row, so the back-off window grows the same on every replica.
-- Written without bumping version, like refresh_not_before.
ALTER TABLE connections
  ADD COLUMN refresh_lease_holder uuid,
  ADD COLUMN refresh_lease_until timestamptz,
  ADD COLUMN refresh_failures integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE connections
  DROP COLUMN refresh_lease_holder,
  DROP COLUMN refresh_lease_until,
  DROP COLUMN refresh_failures;
