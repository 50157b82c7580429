-- window_done counts the rows of the window written, and window_rows how
-- many it has, so that a job shows its progress inside a window and goes
-- on from the right row whatever the size of a part.
ALTER TABLE import_jobs ADD COLUMN window_rows INTEGER NOT NULL DEFAULT 0;
