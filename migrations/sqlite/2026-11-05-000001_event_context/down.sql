ALTER TABLE revocation_events DROP COLUMN reason;
ALTER TABLE revocation_events DROP COLUMN user_id;
ALTER TABLE revocation_events DROP COLUMN client_id;
