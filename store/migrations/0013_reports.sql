-- Reports: a campaign's events by kind, so its bounces by reason and its
-- events of one kind are read without going through its every open.
CREATE INDEX events_campaign_kind ON events(campaign_id, kind, detail) WHERE campaign_id IS NOT NULL;
