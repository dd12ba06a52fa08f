DROP TABLE audit_events;
DROP INDEX revocation_events_expiry;
ALTER TABLE refresh_tokens DROP COLUMN access_exp_ms;
ALTER TABLE refresh_tokens DROP COLUMN access_jti;
ALTER TABLE signing_keys DROP COLUMN activate_after_ms;
ALTER TABLE realms DROP COLUMN key_stage_s;
ALTER TABLE clients DROP COLUMN introspect_any;
