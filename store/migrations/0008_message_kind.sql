-- What a transactional message is: one a client or a person asked for, or
-- Herald's own system mail (sign-up confirmations, alerts to the owners),
-- which goes through the same durable lane.
ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'transactional' CHECK (kind IN ('transactional', 'system'));
