-- An import reads its file in windows of many lines, sorted by address,
-- and writes each window in short transactions of a few thousand rows, so
-- that other writers never wait long. window_end is where the window being
-- written ends in the file, and window_done how many of its parts are
-- written; read_offset and line move past a window once all of it is.
ALTER TABLE import_jobs ADD COLUMN window_end INTEGER NOT NULL DEFAULT 0;
ALTER TABLE import_jobs ADD COLUMN window_done INTEGER NOT NULL DEFAULT 0;
