-- A source's runs. Each run writes its contacts as an import does, through
-- an import job of its own (origin 'source', which the CSV importer
-- leaves alone), and keeps where the remote API's paging stands, so that
-- a run a stop cut short resumes at the next page.
ALTER TABLE import_jobs ADD COLUMN origin TEXT NOT NULL DEFAULT 'csv';

CREATE TABLE source_runs (
    id          INTEGER PRIMARY KEY,
    source_id   INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    job_id      INTEGER NOT NULL REFERENCES import_jobs(id),
    status      TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    cursor      TEXT NOT NULL DEFAULT '{}',
    pages       INTEGER NOT NULL DEFAULT 0,
    fetched     INTEGER NOT NULL DEFAULT 0,
    capped      INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    started_at  INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX source_runs_source ON source_runs (source_id, id);
CREATE UNIQUE INDEX source_runs_running ON source_runs (source_id) WHERE status = 'running';
