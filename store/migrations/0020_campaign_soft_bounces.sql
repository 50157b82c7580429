-- A campaign's soft bounces are counted per hour with its other results
-- (campaign_hours); this running total had no reader.
ALTER TABLE campaigns DROP COLUMN soft_bounces;
