-- What a source brought, by list: a source that feeds several lists, or
-- one added later, takes a contact out only of the lists it brought them
-- to, never of one they were on before. The rows of source_members become
-- one per list the source feeds.
CREATE TABLE source_list_members (
    source_id  INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    list_id    INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    run_id     INTEGER NOT NULL,
    PRIMARY KEY (source_id, list_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX source_list_members_run ON source_list_members (source_id, run_id);
-- A contact's or a list's deletion finds its rows here.
CREATE INDEX source_list_members_contact ON source_list_members (contact_id);
CREATE INDEX source_list_members_list ON source_list_members (list_id);

INSERT INTO source_list_members (source_id, list_id, contact_id, run_id)
SELECT m.source_id, j.value, m.contact_id, m.run_id FROM source_members m JOIN sources s ON s.id = m.source_id, json_each(s.mapping, '$.list_ids') j
WHERE EXISTS (SELECT 1 FROM list_members l WHERE l.list_id = j.value AND l.contact_id = m.contact_id)
ON CONFLICT DO NOTHING;
DROP TABLE source_members;
