-- What a run that succeeded noticed all the same, such as mapped fields
-- its records no longer hold.
ALTER TABLE source_runs ADD COLUMN warning TEXT NOT NULL DEFAULT '';
