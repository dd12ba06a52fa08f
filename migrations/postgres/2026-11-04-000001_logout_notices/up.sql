ALTER TABLE clients ADD COLUMN backchannel_logout_session_required BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE clients ADD COLUMN frontchannel_logout_uri TEXT;

-- Back-channel logout notices waiting for (or done with) delivery.
CREATE TABLE backchannel_outbox (
    id BIGSERIAL PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL,
    claimed_by TEXT,
    claimed_until_ms BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at_ms BIGINT NOT NULL,
    delivered_at_ms BIGINT,
    gave_up_at_ms BIGINT
);
CREATE INDEX backchannel_outbox_due ON backchannel_outbox (status, next_attempt_ms);
CREATE INDEX backchannel_outbox_session ON backchannel_outbox (session_id);
