-- A run stopped at its cap hands on where it stopped: the next run goes on
-- from resume_cursor, so a source larger than one run's cap is read to its
-- end over several. resume_since is when the first of those runs started,
-- the "changed since" of the next once the last one ends, and resume_run
-- its id, so that leaving lists counts every run of them as one.
ALTER TABLE sources ADD COLUMN resume_cursor TEXT NOT NULL DEFAULT '';
ALTER TABLE sources ADD COLUMN resume_since INTEGER;
ALTER TABLE sources ADD COLUMN resume_run INTEGER;
