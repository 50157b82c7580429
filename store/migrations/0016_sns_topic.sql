-- The SNS topic an SES relay's notification address subscribed to: once
-- confirmed, notifications from any other topic are refused.
ALTER TABLE relays ADD COLUMN feedback_topic TEXT NOT NULL DEFAULT '';
