-- Results: what became of each message after it left. Every open, click,
-- delivery, bounce, complaint and unsubscribe is an event; the links each
-- campaign or message carries are stored, so a click redirect only ever goes
-- to one of them; counters per campaign and hour, kept in the same
-- transaction as the events, make reports cheap however many events there are.

-- Tracking per campaign (frozen with its content when it starts) and per
-- transactional message; UTM parameters added to a campaign's links.
ALTER TABLE campaigns ADD COLUMN track_opens INTEGER NOT NULL DEFAULT 1;
ALTER TABLE campaigns ADD COLUMN track_clicks INTEGER NOT NULL DEFAULT 1;
ALTER TABLE campaigns ADD COLUMN utm_source TEXT NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN utm_medium TEXT NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN utm_campaign TEXT NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN soft_bounces INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN track_opens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN track_clicks INTEGER NOT NULL DEFAULT 0;

-- Each send's and message's results: how many opens and clicks (all, and
-- those of people rather than machines), when first, and its fate after
-- the relay took it. bounce is '', 'soft' or 'hard'.
ALTER TABLE sends ADD COLUMN opens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sends ADD COLUMN human_opens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sends ADD COLUMN clicks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sends ADD COLUMN human_clicks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sends ADD COLUMN opened_at INTEGER;
ALTER TABLE sends ADD COLUMN clicked_at INTEGER;
ALTER TABLE sends ADD COLUMN delivered_at INTEGER;
ALTER TABLE sends ADD COLUMN bounce TEXT NOT NULL DEFAULT '';
ALTER TABLE sends ADD COLUMN complained_at INTEGER;
ALTER TABLE sends ADD COLUMN unsubscribed_at INTEGER;
-- Provider notifications name the message by the id the relay gave it.
CREATE INDEX sends_provider ON sends(provider_id) WHERE provider_id != '';

ALTER TABLE messages ADD COLUMN opens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN human_opens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN clicks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN human_clicks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN opened_at INTEGER;
ALTER TABLE messages ADD COLUMN clicked_at INTEGER;
ALTER TABLE messages ADD COLUMN delivered_at INTEGER;
ALTER TABLE messages ADD COLUMN bounce TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN complained_at INTEGER;
CREATE INDEX messages_provider ON messages(provider_id) WHERE provider_id != '';

-- A contact's engagement, for segments: the last open and click, and soft
-- bounces in a row (a delivery or an open resets it).
ALTER TABLE contacts ADD COLUMN last_open_at INTEGER;
ALTER TABLE contacts ADD COLUMN last_click_at INTEGER;
ALTER TABLE contacts ADD COLUMN soft_bounces INTEGER NOT NULL DEFAULT 0;

-- The links a campaign or a transactional message carries, with their
-- clicks. Exactly one of campaign_id and message_id is set.
CREATE TABLE links (
    id                  INTEGER PRIMARY KEY,
    campaign_id         INTEGER REFERENCES campaigns(id) ON DELETE CASCADE,
    message_id          INTEGER REFERENCES messages(id) ON DELETE CASCADE,
    url                 TEXT NOT NULL,
    clicks              INTEGER NOT NULL DEFAULT 0,
    human_clicks        INTEGER NOT NULL DEFAULT 0,
    unique_clicks       INTEGER NOT NULL DEFAULT 0,
    unique_human_clicks INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL,
    CHECK ((campaign_id IS NULL) != (message_id IS NULL))
);
CREATE UNIQUE INDEX links_campaign ON links(campaign_id, url) WHERE campaign_id IS NOT NULL;
CREATE UNIQUE INDEX links_message ON links(message_id, url) WHERE message_id IS NOT NULL;

-- Every result, append only. machine is 1 for an open by a mail client's
-- image proxy or a click by a security scanner. send_id names a campaign's
-- send, message_id a transactional message; contact_id and send_id are
-- left empty in privacy mode.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    machine     INTEGER NOT NULL DEFAULT 0,
    campaign_id INTEGER,
    send_id     INTEGER,
    message_id  INTEGER,
    contact_id  INTEGER,
    link_id     INTEGER,
    source      TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_campaign ON events(campaign_id, id) WHERE campaign_id IS NOT NULL;
CREATE INDEX events_contact ON events(contact_id, id) WHERE contact_id IS NOT NULL;
CREATE INDEX events_message ON events(message_id, id) WHERE message_id IS NOT NULL;
-- Whether a send clicked a link before: unique clicks per link.
CREATE INDEX events_send_link ON events(send_id, link_id) WHERE link_id IS NOT NULL AND send_id IS NOT NULL;

-- Counters per campaign and hour (campaign 0 is transactional mail), in the
-- same transaction as the events they count. unique_* count a send in the
-- hour of its first open or click.
CREATE TABLE campaign_hours (
    campaign_id         INTEGER NOT NULL,
    hour                INTEGER NOT NULL,
    sent                INTEGER NOT NULL DEFAULT 0,
    delivered           INTEGER NOT NULL DEFAULT 0,
    opens               INTEGER NOT NULL DEFAULT 0,
    human_opens         INTEGER NOT NULL DEFAULT 0,
    unique_opens        INTEGER NOT NULL DEFAULT 0,
    unique_human_opens  INTEGER NOT NULL DEFAULT 0,
    clicks              INTEGER NOT NULL DEFAULT 0,
    human_clicks        INTEGER NOT NULL DEFAULT 0,
    unique_clicks       INTEGER NOT NULL DEFAULT 0,
    unique_human_clicks INTEGER NOT NULL DEFAULT 0,
    hard_bounces        INTEGER NOT NULL DEFAULT 0,
    soft_bounces        INTEGER NOT NULL DEFAULT 0,
    complaints          INTEGER NOT NULL DEFAULT 0,
    unsubscribes        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, hour)
) WITHOUT ROWID;
CREATE INDEX campaign_hours_hour ON campaign_hours(hour);

-- What was sent before counters existed.
INSERT INTO campaign_hours (campaign_id, hour, sent)
SELECT campaign_id, sent_at / 3600 * 3600, count(*) FROM sends WHERE status = 'sent' AND sent_at IS NOT NULL GROUP BY 1, 2;
INSERT INTO campaign_hours (campaign_id, hour, sent)
SELECT 0, sent_at / 3600 * 3600, count(*) FROM messages WHERE status = 'sent' AND sent_at IS NOT NULL GROUP BY 2;
UPDATE campaign_hours SET hard_bounces = hard_bounces + coalesce((SELECT bounces FROM campaigns WHERE id = campaign_hours.campaign_id), 0),
    complaints = complaints + coalesce((SELECT complaints FROM campaigns WHERE id = campaign_hours.campaign_id), 0)
WHERE campaign_id != 0 AND hour = (SELECT min(hour) FROM campaign_hours h WHERE h.campaign_id = campaign_hours.campaign_id);

-- Provider notifications already taken, so one delivered twice counts once.
CREATE TABLE feedback_seen (
    key TEXT PRIMARY KEY,
    at  INTEGER NOT NULL
) WITHOUT ROWID;
