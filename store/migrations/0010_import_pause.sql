-- foreign_keys: off
-- An import that meets a full disk pauses, keeping its file and its place,
-- and carries on once there is space; error holds why it is paused.
--
-- SQLite cannot change a CHECK constraint in place, so import_jobs is
-- rebuilt with foreign keys off (the runner turns them off for this
-- migration and checks them before it commits), keeping every id and the
-- id sequence.
CREATE TABLE import_jobs_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    status      TEXT NOT NULL CHECK (status IN ('draft', 'queued', 'running', 'paused', 'done', 'failed', 'cancelled')),
    file_name   TEXT NOT NULL,
    file_path   TEXT NOT NULL,
    file_size   INTEGER NOT NULL,
    mode        TEXT NOT NULL CHECK (mode IN ('create', 'upsert', 'unsubscribe', 'block')),
    list_ids    TEXT NOT NULL DEFAULT '[]',
    tags        TEXT NOT NULL DEFAULT '[]',
    headers     TEXT NOT NULL DEFAULT '[]',
    mapping     TEXT NOT NULL DEFAULT '[]',
    delimiter   TEXT NOT NULL DEFAULT ',',
    read_offset INTEGER NOT NULL DEFAULT 0,
    line        INTEGER NOT NULL DEFAULT 1,
    total       INTEGER NOT NULL DEFAULT 0,
    created     INTEGER NOT NULL DEFAULT 0,
    updated     INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    invalid     INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER
);
INSERT INTO import_jobs_new SELECT id, status, file_name, file_path, file_size, mode, list_ids, tags, headers, mapping, delimiter,
    read_offset, line, total, created, updated, skipped, invalid, error, created_at, started_at, finished_at FROM import_jobs;
-- The old sequence is never below the highest id, so it carries over whole.
DELETE FROM sqlite_sequence WHERE name = 'import_jobs_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'import_jobs_new', seq FROM sqlite_sequence WHERE name = 'import_jobs';
DROP TABLE import_jobs;
ALTER TABLE import_jobs_new RENAME TO import_jobs;
