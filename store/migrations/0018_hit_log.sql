-- Opens and clicks are committed here first, one lean row each, before the
-- tracking request is answered; the hit writer folds them into events,
-- sends, contacts and the counters in large batches, deleting each row in
-- the same transaction that applies it. A row is one line of text the
-- writer reads back (store/hits.go, hitLine).
CREATE TABLE hit_log (
  id INTEGER PRIMARY KEY,
  hit TEXT NOT NULL
);
