-- A run that would have taken most of a source's contacts out of its lists
-- at once held them back; held_from is the first run it counted from, so
-- that the next complete run takes out only who both runs missed.
ALTER TABLE sources ADD COLUMN held_from INTEGER;
