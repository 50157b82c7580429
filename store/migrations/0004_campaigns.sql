-- Campaigns and the outbox: one sends row per recipient of a campaign.

CREATE TABLE campaigns (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    name               TEXT NOT NULL,
    subject            TEXT NOT NULL DEFAULT '',
    preheader          TEXT NOT NULL DEFAULT '',
    from_name          TEXT NOT NULL DEFAULT '',
    from_email         TEXT NOT NULL DEFAULT '',
    reply_to           TEXT NOT NULL DEFAULT '',
    -- The body is a template's, or written here in format.
    template_id        INTEGER REFERENCES templates(id) ON DELETE SET NULL,
    format             TEXT NOT NULL DEFAULT 'markdown' CHECK (format IN ('html', 'markdown', 'text')),
    body               TEXT NOT NULL DEFAULT '',
    text_body          TEXT NOT NULL DEFAULT '',
    layout_id          INTEGER REFERENCES templates(id) ON DELETE SET NULL,
    -- The audience: lists and/or a segment, minus excluded lists or a segment.
    list_ids           TEXT NOT NULL DEFAULT '[]',
    segment_id         INTEGER REFERENCES segments(id) ON DELETE SET NULL,
    exclude_list_ids   TEXT NOT NULL DEFAULT '[]',
    exclude_segment_id INTEGER REFERENCES segments(id) ON DELETE SET NULL,
    relay_id           INTEGER REFERENCES relays(id) ON DELETE SET NULL,
    status             TEXT NOT NULL DEFAULT 'draft'
                       CHECK (status IN ('draft', 'scheduled', 'sending', 'paused', 'cancelled', 'sent')),
    send_at            INTEGER,
    -- Frozen when sending starts: the content as JSON, and the audience's
    -- rules, so later edits to templates, lists or segments change nothing.
    frozen             TEXT,
    -- Materialising the audience walks contact ids in batches up to
    -- last_contact, the highest id when sending started; through_contact is
    -- the last id done, so a restart carries on where it stopped.
    materialised       INTEGER NOT NULL DEFAULT 0,
    last_contact       INTEGER,
    through_contact    INTEGER NOT NULL DEFAULT 0,
    -- Who was left out, and why.
    skipped_suppressed   INTEGER NOT NULL DEFAULT 0,
    skipped_unsubscribed INTEGER NOT NULL DEFAULT 0,
    skipped_bounced      INTEGER NOT NULL DEFAULT 0,
    skipped_complained   INTEGER NOT NULL DEFAULT 0,
    skipped_unconfirmed  INTEGER NOT NULL DEFAULT 0,
    recipients         INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    started_at         INTEGER,
    finished_at        INTEGER
);
CREATE INDEX campaigns_status ON campaigns(status, send_at);

CREATE TABLE sends (
    id              INTEGER PRIMARY KEY,
    campaign_id     INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    contact_id      INTEGER NOT NULL,
    email           TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'sending', 'sent', 'retrying', 'failed', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    lease_until     INTEGER,
    last_code       INTEGER NOT NULL DEFAULT 0,
    last_response   TEXT NOT NULL DEFAULT '',
    provider_id     TEXT NOT NULL DEFAULT '',
    updated_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    UNIQUE (campaign_id, contact_id)
);
-- The dispatcher claims due rows of a campaign in id order.
CREATE INDEX sends_due ON sends(campaign_id, status, next_attempt_at);
CREATE INDEX sends_contact ON sends(contact_id);
