-- The least-privilege logins (README, "Production"), as the compose file's
-- Postgres creates them on its first start. Run the same as a superuser in
-- your own cluster, with your own passwords.
--
-- THE PASSWORDS BELOW ARE DEMO VALUES, PUBLISHED IN THIS REPOSITORY.
--
--   broker_owner       owns the database and its tables; runs `broker migrate up`
--                      (BROKER_MIGRATE_DATABASE_URL). Never given to the server.
--   broker_runtime     the server's login (BROKER_DATABASE_URL): a NOINHERIT member
--                      of broker_app only. Row-level security binds everything it
--                      runs; it cannot SET ROLE broker_system, and RESET ROLE
--                      leaves it with no privilege at all.
--   broker_crosstenant the server's second login (BROKER_SYSTEM_DATABASE_URL): a
--                      NOINHERIT member of broker_system only, used solely for the
--                      cross-tenant queries listed in internal/store/across.go.
--
-- broker_app and broker_system are the group roles the migrations grant to;
-- migration 00001 creates them too, but the logins must exist before it runs.
CREATE ROLE broker_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
CREATE ROLE broker_system NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
CREATE ROLE broker_owner LOGIN PASSWORD 'demo-owner-password' NOSUPERUSER NOBYPASSRLS;
CREATE ROLE broker_runtime LOGIN PASSWORD 'demo-runtime-password' NOINHERIT NOSUPERUSER NOBYPASSRLS IN ROLE broker_app;
CREATE ROLE broker_crosstenant LOGIN PASSWORD 'demo-crosstenant-password' NOINHERIT NOSUPERUSER NOBYPASSRLS IN ROLE broker_system;
ALTER DATABASE broker OWNER TO broker_owner;
