-- The contacts each source's runs have brought, with the last run that
-- had them, so that a source set to do so can take those a later run no
-- longer has out of its lists. A run keeps whether it does that as it
-- started, and counts those it took out.
CREATE TABLE source_members (
    source_id  INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    run_id     INTEGER NOT NULL,
    PRIMARY KEY (source_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX source_members_run ON source_members (source_id, run_id);
-- A contact's deletion finds its rows here.
CREATE INDEX source_members_contact ON source_members (contact_id);

ALTER TABLE source_runs ADD COLUMN leave_lists INTEGER NOT NULL DEFAULT 0;
ALTER TABLE source_runs ADD COLUMN left_lists INTEGER NOT NULL DEFAULT 0;
