-- A contact's opens of campaign mail are read from their sends (how many,
-- and when first), not event by event: the index by contact leaves those
-- events out, which spares every open a write at a random place in it.
-- Queries by contact repeat the condition (store.indexedByContact).
DROP INDEX events_contact;
CREATE INDEX events_contact ON events(contact_id, id)
    WHERE contact_id IS NOT NULL AND (kind != 'open' OR message_id IS NOT NULL);
