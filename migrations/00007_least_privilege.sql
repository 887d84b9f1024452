-- +goose Up

-- Least privilege (README, "Production"): the runtime login is a NOINHERIT
-- member of broker_app only, and the operator runs migrations with the
-- owner's URL. Two things make that work and keep it honest:
--
-- 1. broker_app may read goose's version table, so `broker serve
--    --no-migrate` can refuse an old schema without owner rights.
-- 2. broker_app and broker_system are never members of each other or of
--    anything else, whoever granted what by hand: SET ROLE from the runtime
--    login reaches broker_app and nothing beyond. Roles are cluster-wide, so
--    a revoke the migrator may not make is a warning,
--    not a failed migration.
GRANT SELECT ON goose_db_version TO broker_app;

-- +goose StatementBegin
DO $$
DECLARE g record;
BEGIN
  FOR g IN
    SELECT r.rolname AS granted, m.rolname AS member
    FROM pg_auth_members am
    JOIN pg_roles r ON r.oid = am.roleid
    JOIN pg_roles m ON m.oid = am.member
    WHERE m.rolname IN ('broker_app', 'broker_system')
  LOOP
    BEGIN
      EXECUTE format('REVOKE %I FROM %I', g.granted, g.member);
    EXCEPTION WHEN OTHERS THEN
      RAISE WARNING 'cannot revoke % from %: %', g.granted, g.member, SQLERRM;
    END;
  END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
REVOKE SELECT ON goose_db_version FROM broker_app;
