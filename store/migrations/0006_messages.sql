-- Transactional email: one row per message asked for through the API, with
-- its attachments and the history of what became of it. Messages have their
-- own lane, so they never wait behind a campaign's outbox.

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The client's key for the request: asking again with the same key
    -- returns this message instead of making a second one.
    idempotency_key TEXT NOT NULL DEFAULT '',
    to_email        TEXT NOT NULL,
    to_name         TEXT NOT NULL DEFAULT '',
    from_name       TEXT NOT NULL DEFAULT '',
    from_email      TEXT NOT NULL,
    reply_to        TEXT NOT NULL DEFAULT '',
    template_id     INTEGER REFERENCES templates(id) ON DELETE SET NULL,
    -- What goes out: as given, or as the template rendered it with data
    -- when the message was created.
    subject         TEXT NOT NULL,
    html            TEXT NOT NULL DEFAULT '',
    text            TEXT NOT NULL DEFAULT '',
    data            TEXT NOT NULL DEFAULT '{}',
    -- Extra headers, as a JSON array of {"name", "value"}.
    headers         TEXT NOT NULL DEFAULT '[]',
    relay_id        INTEGER REFERENCES relays(id) ON DELETE SET NULL,
    -- Essential mail, like a password reset, goes even to suppressed addresses.
    essential       INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'sending', 'sent', 'retrying', 'failed', 'suppressed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    lease_until     INTEGER,
    last_code       INTEGER NOT NULL DEFAULT 0,
    last_response   TEXT NOT NULL DEFAULT '',
    provider_id     TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE UNIQUE INDEX messages_idempotency ON messages(idempotency_key) WHERE idempotency_key != '';
-- The lane claims due queued and retrying rows, and recovers sending ones.
CREATE INDEX messages_due ON messages(status, next_attempt_at);

CREATE TABLE message_attachments (
    id           INTEGER PRIMARY KEY,
    message_id   INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content      BLOB NOT NULL
);
CREATE INDEX message_attachments_message ON message_attachments(message_id);

-- Each message's history: queued, every attempt's outcome, requeues.
CREATE TABLE message_events (
    id         INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    status     TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX message_events_message ON message_events(message_id, id);
