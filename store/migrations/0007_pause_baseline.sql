-- Where a campaign's bounce and complaint rates are counted from: zero, or
-- the counts when it was last resumed, so a resumed campaign is judged on
-- what it sends afterwards.
ALTER TABLE campaigns ADD COLUMN rates_from_settled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN rates_from_bounces INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN rates_from_complaints INTEGER NOT NULL DEFAULT 0;
