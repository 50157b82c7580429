-- Sources: JSON APIs Herald pulls contacts from on a schedule. The
-- credentials (the auth secret, and the values of the extra headers,
-- which may carry keys too) are sealed like relay passwords.
CREATE TABLE sources (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    url             TEXT NOT NULL,
    auth_kind       TEXT NOT NULL DEFAULT '',   -- '', bearer, basic, header, query
    auth_name       TEXT NOT NULL DEFAULT '',   -- the username, or the key's header or parameter
    auth_secret     BLOB,                       -- sealed: the token, password or key
    header_names    TEXT NOT NULL DEFAULT '[]', -- the extra headers' names, in order
    header_values   BLOB,                       -- sealed: their values, a JSON list in the same order
    records_path    TEXT NOT NULL DEFAULT '',
    paging          TEXT NOT NULL DEFAULT '{}',
    since_param     TEXT NOT NULL DEFAULT '',
    mapping         TEXT NOT NULL DEFAULT '{}',
    schedule        TEXT NOT NULL DEFAULT 'daily',
    at_minute       INTEGER NOT NULL DEFAULT 360, -- minute of the day, in the organisation's timezone
    enabled         INTEGER NOT NULL DEFAULT 1,
    disabled_reason TEXT NOT NULL DEFAULT '',
    failures        INTEGER NOT NULL DEFAULT 0,
    next_run_at     INTEGER,
    last_run_at     INTEGER,
    last_success_at INTEGER,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX sources_due ON sources (next_run_at) WHERE enabled = 1;

-- Who revealed, copied or changed a source's credentials, and when.
CREATE TABLE source_audit (
    id        INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX source_audit_source ON source_audit (source_id, id);
