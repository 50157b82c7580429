-- Engagement segments ask "opened (clicked) in the last N days" of every
-- contact; these indexes answer it without reading contacts who never did.
CREATE INDEX contacts_last_open ON contacts(last_open_at) WHERE last_open_at IS NOT NULL;
CREATE INDEX contacts_last_click ON contacts(last_click_at) WHERE last_click_at IS NOT NULL;
