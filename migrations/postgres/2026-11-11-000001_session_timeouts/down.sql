DROP INDEX sessions_live;
ALTER TABLE sessions DROP COLUMN idle_until_ms;
ALTER TABLE sessions DROP COLUMN remember_me;
ALTER TABLE realms DROP COLUMN offline_idle_s;
ALTER TABLE realms DROP COLUMN remember_me_lifetime_s;
ALTER TABLE realms DROP COLUMN remember_me;
ALTER TABLE realms DROP COLUMN sso_idle_s;
