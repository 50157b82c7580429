-- What the owner set on each background queue: paused (by whom, since
-- when), and for the transactional lane, which is never paused, a cap on
-- messages a minute.
CREATE TABLE queue_controls (
    queue      TEXT PRIMARY KEY,
    paused_at  INTEGER,
    paused_by  TEXT NOT NULL DEFAULT '',
    per_minute INTEGER NOT NULL DEFAULT 0
);

-- Messages sent today, counted without reading them all.
CREATE INDEX messages_sent ON messages (sent_at) WHERE sent_at IS NOT NULL;
-- Runs and deliveries finished today, likewise.
CREATE INDEX source_runs_finished ON source_runs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX webhook_deliveries_status ON webhook_deliveries (status, updated_at);
