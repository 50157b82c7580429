-- Opens and clicks are committed here first, one lean row each, before the
-- tracking request is answered; the hit writer folds them into events,
-- sends, contacts and the counters in large batches, deleting each row in
-- the same transaction that applies it.
CREATE TABLE hit_log (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  machine INTEGER NOT NULL DEFAULT 0,
  campaign_id INTEGER NOT NULL DEFAULT 0,
  send_id INTEGER NOT NULL DEFAULT 0,
  message_id INTEGER NOT NULL DEFAULT 0,
  link_id INTEGER NOT NULL DEFAULT 0,
  private INTEGER NOT NULL DEFAULT 0,
  opens_off INTEGER NOT NULL DEFAULT 0,
  source TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT ''
);
