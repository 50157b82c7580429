-- API keys carry the four scopes (read, write, send, admin) in place of
-- "full", and may override the install's rate limits, by class; 0 takes
-- the install's.
UPDATE api_keys SET scopes = 'read write send admin' WHERE scopes = 'full';
UPDATE api_keys SET scopes = 'read write send admin' WHERE scopes = 'full read';
ALTER TABLE api_keys ADD COLUMN rate_read INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN rate_write INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN rate_send INTEGER NOT NULL DEFAULT 0;

-- The first answer to each POST sent with an Idempotency-Key, kept for a
-- day, so that a retry gets it again rather than doing the work twice.
-- status is 0 while the first request is still running.
CREATE TABLE idempotency_keys (
    api_key_id INTEGER NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    method     TEXT NOT NULL,
    path       TEXT NOT NULL,
    body_hash  BLOB NOT NULL,
    status     INTEGER NOT NULL DEFAULT 0,
    headers    TEXT NOT NULL DEFAULT '{}',
    body       BLOB NOT NULL DEFAULT x'',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (api_key_id, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
