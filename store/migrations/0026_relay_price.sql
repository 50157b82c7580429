-- What a relay charges for 1,000 messages, in the owner's currency, for
-- estimates of what campaigns, categories and months cost; 0 is unknown.
ALTER TABLE relays ADD COLUMN price_per_1000 REAL NOT NULL DEFAULT 0;
