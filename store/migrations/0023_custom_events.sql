-- What a contact did elsewhere, as a shop or app reports it: a name, its
-- properties and when it happened. Each may carry the caller's key, so a
-- retried report is stored once.
CREATE TABLE custom_events (
    id              INTEGER PRIMARY KEY,
    contact_id      INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    properties      TEXT NOT NULL DEFAULT '{}',
    occurred_at     INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    idempotency_key TEXT
);
CREATE INDEX custom_events_contact ON custom_events(contact_id, occurred_at);
CREATE INDEX custom_events_name ON custom_events(name, occurred_at, contact_id);
CREATE UNIQUE INDEX custom_events_key ON custom_events(idempotency_key) WHERE idempotency_key IS NOT NULL;
