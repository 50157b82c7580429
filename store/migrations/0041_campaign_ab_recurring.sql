-- A/B tests: a campaign's variants (JSON), each variant's frozen content,
-- and where the test stands. A send's variant is the one it got: 0 to 3 in
-- the test, -1 held back for the winner, 100 + the winner's once it goes
-- to the rest of the audience.
ALTER TABLE campaigns ADD COLUMN ab TEXT NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN ab_frozen TEXT NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN ab_assigned INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN ab_status TEXT NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN ab_winner INTEGER NOT NULL DEFAULT -1;
ALTER TABLE campaigns ADD COLUMN ab_decide_at INTEGER;
ALTER TABLE campaigns ADD COLUMN ab_decided_at INTEGER;
ALTER TABLE campaigns ADD COLUMN ab_decided_by TEXT NOT NULL DEFAULT '';
ALTER TABLE sends ADD COLUMN variant INTEGER NOT NULL DEFAULT 0;
CREATE INDEX campaigns_ab_testing ON campaigns(ab_decide_at) WHERE ab_status = 'testing';

-- Send-time per recipient: a campaign sent at this local time ("09:00")
-- in each contact's timezone attribute, or the organisation's.
ALTER TABLE campaigns ADD COLUMN local_at TEXT NOT NULL DEFAULT '';

-- Recurring campaigns: the schedule (JSON) of a series, when it next
-- sends, what its feed held last time, and, on each campaign a series
-- sent, the series it came from.
ALTER TABLE campaigns ADD COLUMN recurrence TEXT NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN recur_next_at INTEGER;
ALTER TABLE campaigns ADD COLUMN recur_seen TEXT NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN recur_parent INTEGER REFERENCES campaigns(id) ON DELETE SET NULL;
CREATE INDEX campaigns_recurring ON campaigns(recur_next_at) WHERE recurrence != '';
CREATE INDEX campaigns_recur_parent ON campaigns(recur_parent) WHERE recur_parent IS NOT NULL;
