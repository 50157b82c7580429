-- Hard bounces a relay gave while taking the message (a 5.1.1 answer to
-- RCPT) were never sent, unlike those reported after it took it; counting
-- them apart keeps "delivered" (sent less later bounces) right.
ALTER TABLE campaign_hours ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;
-- Before this, every hard bounce on the counters was one of these: the
-- bounces reported later arrived with the same change that counts them.
UPDATE campaign_hours SET refused = hard_bounces;
