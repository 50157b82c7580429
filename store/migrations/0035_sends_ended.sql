-- A send that is over keeps when it ended in next_attempt_at, so that what
-- a campaign sent in the last minute or hour is a range of the index its
-- claims use (sends_due), for the queues' throughput.
UPDATE sends SET next_attempt_at = coalesce(sent_at, updated_at) WHERE status IN ('sent', 'failed');
