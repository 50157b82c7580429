-- A campaign's events by kind: how many of each, kept in the same
-- transaction as the events, so a report pages through millions of events
-- without counting them; and an index that pages through one kind newest
-- first.
CREATE TABLE campaign_event_counts (
    campaign_id INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, kind)
) WITHOUT ROWID;
INSERT INTO campaign_event_counts (campaign_id, kind, n)
SELECT campaign_id, kind, count(*) FROM events WHERE campaign_id IS NOT NULL GROUP BY campaign_id, kind;
DROP INDEX events_campaign_kind;
CREATE INDEX events_campaign_kind ON events(campaign_id, kind, id) WHERE campaign_id IS NOT NULL;

-- A campaign's bounces by type and cause ("user-unknown", "mailbox-full",
-- …), with the latest reason in the server's words, kept as they are
-- recorded.
CREATE TABLE campaign_bounces (
    campaign_id INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    category    TEXT NOT NULL,
    n           INTEGER NOT NULL,
    example     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (campaign_id, kind, category)
) WITHOUT ROWID;
INSERT INTO campaign_bounces (campaign_id, kind, category, n, example)
SELECT campaign_id, kind, 'other', count(*), max(detail) FROM events
WHERE campaign_id IS NOT NULL AND kind IN ('hard_bounce', 'soft_bounce') GROUP BY campaign_id, kind;
