ALTER TABLE clients DROP COLUMN previous_secret_until_ms;
ALTER TABLE clients DROP COLUMN previous_secret_hash;
ALTER TABLE users DROP COLUMN required_actions;
DROP TABLE user_roles;
DROP TABLE roles;
