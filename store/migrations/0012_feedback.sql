-- Feedback intake: each relay gets an unguessable token that names it in
-- the URL its provider posts notifications to (/hooks/ses/<token>).
ALTER TABLE relays ADD COLUMN feedback_token TEXT NOT NULL DEFAULT '';
UPDATE relays SET feedback_token = lower(hex(randomblob(16))) WHERE feedback_token = '';
CREATE UNIQUE INDEX relays_feedback_token ON relays(feedback_token) WHERE feedback_token != '';
