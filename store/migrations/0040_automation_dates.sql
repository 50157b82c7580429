-- Date triggers: each contact's next date in each active date automation,
-- so the engine finds what falls due by its index instead of looking at
-- every contact. fired is the local date of the last one fired, so a
-- change of timezone or attribute never fires the same date twice.
CREATE TABLE automation_dates (
    automation_id INTEGER NOT NULL REFERENCES automations(id) ON DELETE CASCADE,
    contact_id    INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    due_at        INTEGER NOT NULL,
    occurrence    TEXT NOT NULL,
    fired         TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (automation_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX automation_dates_due ON automation_dates(automation_id, due_at);
CREATE INDEX automation_dates_contact ON automation_dates(contact_id);

-- Contacts whose attributes changed since their dates were worked out:
-- every way a contact is written (forms, the API, imports, sources, steps)
-- lands here, while a date automation is active.
CREATE TABLE automation_dates_stale (contact_id INTEGER PRIMARY KEY);
CREATE TRIGGER contacts_dates_new AFTER INSERT ON contacts
WHEN EXISTS (SELECT 1 FROM automations WHERE status = 'active' AND trigger_kind = 'date')
BEGIN
    INSERT OR IGNORE INTO automation_dates_stale (contact_id) VALUES (NEW.id);
END;
CREATE TRIGGER contacts_dates_changed AFTER UPDATE OF attributes ON contacts
WHEN NEW.attributes IS NOT OLD.attributes AND EXISTS (SELECT 1 FROM automations WHERE status = 'active' AND trigger_kind = 'date')
BEGIN
    INSERT OR IGNORE INTO automation_dates_stale (contact_id) VALUES (NEW.id);
END;

-- Segment triggers: who was in each segment an automation watches, when it
-- last looked, so those who come in since are the ones who enter. seeded
-- says the first look is done: those already in the segment when the
-- automation started do not enter.
CREATE TABLE automation_segment_members (
    automation_id INTEGER NOT NULL REFERENCES automations(id) ON DELETE CASCADE,
    contact_id    INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    PRIMARY KEY (automation_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX automation_segment_members_contact ON automation_segment_members(contact_id);
ALTER TABLE automations ADD COLUMN segment_seeded INTEGER NOT NULL DEFAULT 0;
