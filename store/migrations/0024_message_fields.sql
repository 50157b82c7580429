-- Transactional messages carry a category, a priority (0 high, 1 normal,
-- 2 low: high is taken first in the lane), tags and metadata that come back
-- in webhooks and the message log, and the size of what was sent. A
-- message's tags are also kept a row each, to find messages by tag.
ALTER TABLE messages ADD COLUMN category TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN priority INTEGER NOT NULL DEFAULT 1;
ALTER TABLE messages ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE messages ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
DROP INDEX messages_due;
CREATE INDEX messages_due ON messages(status, priority, next_attempt_at);
CREATE INDEX messages_category ON messages(category, created_at);
CREATE INDEX messages_created ON messages(created_at);
CREATE TABLE message_tags (
    tag        TEXT NOT NULL,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    PRIMARY KEY (tag, message_id)
) WITHOUT ROWID;
CREATE INDEX message_tags_message ON message_tags(message_id);
