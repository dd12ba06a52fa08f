DROP TABLE consents;
DROP TABLE refresh_tokens;
DROP TABLE refresh_families;
DROP TABLE auth_codes;
DROP TABLE session_clients;
DROP TABLE sessions;
