-- Origins a browser app may call the protocol endpoints from (CORS):
-- a JSON list of origins, '+' (every redirect URI's origin) or '*'.
ALTER TABLE clients ADD COLUMN web_origins TEXT NOT NULL DEFAULT '[]';
