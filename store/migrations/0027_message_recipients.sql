-- A transactional message's other recipients, beside to_email (the first
-- To): {"to": [...], "cc": [...], "bcc": [...]}, each {"name", "email"}.
-- reply_to may hold several addresses, separated by commas.
ALTER TABLE messages ADD COLUMN recipients TEXT NOT NULL DEFAULT '{}';
