DROP TABLE password_history;
ALTER TABLE realms DROP COLUMN password_policy;
