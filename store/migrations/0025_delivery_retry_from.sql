-- When a delivery's current run of attempts began: when its event was
-- made, or when a person sent it again. Retries stop 3 days after it, and
-- the delivery keeps its own creation time.
ALTER TABLE webhook_deliveries ADD COLUMN retry_from INTEGER NOT NULL DEFAULT 0;
UPDATE webhook_deliveries SET retry_from = created_at;
