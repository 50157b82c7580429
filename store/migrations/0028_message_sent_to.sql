-- How many recipients the relay took a sent message for: a message to
-- several counts each against the relay's quota and its price.
ALTER TABLE messages ADD COLUMN sent_to INTEGER NOT NULL DEFAULT 1;
