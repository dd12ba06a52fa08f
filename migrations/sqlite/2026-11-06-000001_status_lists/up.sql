-- Token Status List: blocks of indices reserved by a node in one write.
CREATE TABLE status_list_blocks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    list_no BIGINT NOT NULL,
    start_idx BIGINT NOT NULL,
    size BIGINT NOT NULL,
    node TEXT NOT NULL,
    heartbeat_ms BIGINT NOT NULL,
    state TEXT NOT NULL
);
CREATE INDEX status_list_blocks_realm ON status_list_blocks (realm_id, list_no);

-- Which token holds which index, written behind issuance in batches.
CREATE TABLE status_list_slots (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    realm_id TEXT NOT NULL,
    list_no BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    jti TEXT NOT NULL,
    sid TEXT,
    user_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    node TEXT NOT NULL,
    iat_ms BIGINT NOT NULL,
    exp_ms BIGINT NOT NULL,
    UNIQUE (realm_id, list_no, idx)
);
CREATE INDEX status_list_slots_exp ON status_list_slots (exp_ms);
