-- The recipients of a message to several that are still to be sent to,
-- as a JSON list, once an attempt has sent it to some of them and the
-- relay could not take the others yet; NULL until then.
ALTER TABLE messages ADD COLUMN pending_to TEXT;
