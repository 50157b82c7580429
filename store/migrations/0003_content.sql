-- Content: templates with their saved versions, and uploaded media.

CREATE TABLE templates (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL COLLATE NOCASE UNIQUE,
    kind       TEXT NOT NULL CHECK (kind IN ('layout', 'campaign', 'transactional')),
    format     TEXT NOT NULL CHECK (format IN ('html', 'markdown', 'text')),
    subject    TEXT NOT NULL DEFAULT '',
    body       TEXT NOT NULL DEFAULT '',
    text_body  TEXT NOT NULL DEFAULT '',
    layout_id  INTEGER REFERENCES templates(id) ON DELETE SET NULL,
    essential  INTEGER NOT NULL DEFAULT 0,
    version    INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE template_versions (
    template_id INTEGER NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    name        TEXT NOT NULL,
    format      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    text_body   TEXT NOT NULL,
    layout_id   INTEGER,
    essential   INTEGER NOT NULL,
    author      TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (template_id, version)
) WITHOUT ROWID;

CREATE TABLE media (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    path         TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);

-- The public archive of a list: what was sent to it, rendered without any
-- recipient's details.
CREATE TABLE archive_entries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    list_id      INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    html         TEXT NOT NULL,
    text         TEXT NOT NULL,
    published_at INTEGER NOT NULL
);
CREATE INDEX archive_entries_list ON archive_entries(list_id, published_at);
