package store

import (
	"context"
	"testing"
	"time"
)

// BenchmarkQueueStats reads every queue as Settings → Jobs does (counts by
// state, done in the last minute and hour, and the first page of waiting
// items) while a campaign to 1,000,000 contacts is half sent, beside
// 1,000,000 transactional messages and 1,000,000 webhook deliveries kept
// from before.
//
//	go test ./store -run X -bench QueueStats -benchtime 5x
func BenchmarkQueueStats(b *testing.B) {
	const sends = 1_000_000
	s, l, c := bigCampaign(b)
	ctx := context.Background()
	now := s.now()
	seed(b, s, []string{
		`WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < ?3)
INSERT INTO contacts (email, created_at, updated_at) SELECT 'person' || x || '@example.com', 0, 0 FROM i`,
		`INSERT INTO list_members (list_id, contact_id, status, created_at, updated_at) SELECT ?1, id, 'confirmed', 0, 0 FROM contacts`,
		// Sent over the last two hours; a send that is over keeps when it
		// ended in next_attempt_at, as RecordOutcomes writes it.
		`INSERT INTO sends (campaign_id, contact_id, email, status, updated_at, sent_at, next_attempt_at)
SELECT ?2, id, email, CASE WHEN id % 2 = 0 THEN 'sent' WHEN id % 1000 = 1 THEN 'failed' ELSE 'queued' END, ?4,
	CASE WHEN id % 2 = 0 THEN ?4 - id % 7200 END, CASE WHEN id % 2 = 0 OR id % 1000 = 1 THEN ?4 - id % 7200 ELSE 0 END FROM contacts`,
		`UPDATE campaigns SET status = 'sending', recipients = ?3, started_at = ?4 - 7200 WHERE id = ?2`,
		`WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < 1000000)
INSERT INTO messages (to_email, from_email, subject, status, created_at, updated_at, sent_at)
SELECT 'buyer' || x || '@example.com', 'shop@example.com', 'Receipt', CASE WHEN x % 1000 = 0 THEN 'queued' WHEN x % 1000 = 1 THEN 'failed' ELSE 'sent' END, ?4, ?4, CASE WHEN x % 1000 > 1 THEN ?4 - x END FROM i`,
		`INSERT INTO webhooks (url, secret, events, created_at, updated_at) VALUES ('https://crm.example/hooks', x'00', 'contact.created', ?4, ?4)`,
		`INSERT INTO webhook_events (uid, type, payload, created_at) VALUES ('evt_1', 'contact.created', '{}', ?4)`,
		`WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < 1000000)
INSERT INTO webhook_deliveries (webhook_id, event_id, status, next_attempt_at, created_at, updated_at)
SELECT 1, 1, CASE WHEN x % 1000 = 0 THEN 'pending' WHEN x % 1000 = 1 THEN 'failed' ELSE 'delivered' END, ?4, ?4, ?4 - x FROM i`,
	}, l.ID, c.ID, sends, unix(now))
	if testing.Verbose() {
		for _, name := range Queues {
			t0 := time.Now()
			s.QueueStats(ctx, name, now, now.Add(-12*time.Hour))
			t1 := time.Now()
			s.QueueDone(ctx, name, now, now.Add(-time.Hour))
			t2 := time.Now()
			s.QueueItems(ctx, name, QueueWaiting, now, now.Add(-12*time.Hour), 200, 0)
			b.Logf("%s: stats %v, done %v, items %v", name, t1.Sub(t0), t2.Sub(t1), time.Since(t2))
		}
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		for _, name := range Queues {
			if _, err := s.QueueStats(ctx, name, now, now.Add(-12*time.Hour)); err != nil {
				b.Fatal(err)
			}
			for _, since := range []time.Duration{time.Minute, time.Hour} {
				if _, err := s.QueueDone(ctx, name, now, now.Add(-since)); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := s.QueueItems(ctx, name, QueueWaiting, now, now.Add(-12*time.Hour), 200, 0); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/page")
}
