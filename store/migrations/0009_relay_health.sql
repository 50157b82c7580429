-- Whether a relay answers: since when it has not, and the last error it
-- gave, until a message goes through it again.
ALTER TABLE relays ADD COLUMN failing_since INTEGER;
ALTER TABLE relays ADD COLUMN failing_error TEXT NOT NULL DEFAULT '';
