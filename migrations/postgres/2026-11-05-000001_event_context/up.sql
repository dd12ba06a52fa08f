-- Who a revocation concerns, so the event stream can filter per client.
ALTER TABLE revocation_events ADD COLUMN client_id TEXT;
ALTER TABLE revocation_events ADD COLUMN user_id TEXT;
ALTER TABLE revocation_events ADD COLUMN reason TEXT;
