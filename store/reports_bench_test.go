package store

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"
)

// BenchmarkCampaignReport builds a campaign's report: totals, funnel and
// rates, opens and clicks over time, top links, bounces by reason, the
// first page of who opened and the first page of its events; and, as its
// own figure, the results by recipient domain and by list, which read
// every send. The campaign has HERALD_BENCH_EVENTS events (2M; the README
// figure is for 10M) and a tenth as many sends; a fifth of the events are
// bounces, far more than any real campaign. Seeding takes a while.
//
//	HERALD_BENCH_EVENTS=10000000 go test ./store -run X -bench CampaignReport -benchtime 3x -timeout 30m
func BenchmarkCampaignReport(b *testing.B) {
	events := 2_000_000
	if v, err := strconv.Atoi(os.Getenv("HERALD_BENCH_EVENTS")); err == nil && v > 0 {
		events = v
	}
	sends := events / 10
	s, l, c := bigCampaign(b)
	ctx := context.Background()
	seed(b, s, []string{
		`WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < ?3)
INSERT INTO contacts (email, created_at, updated_at) SELECT 'person' || x || '@domain' || (x % 50) || '.example', 0, 0 FROM i`,
		`INSERT INTO list_members (list_id, contact_id, status, created_at, updated_at) SELECT ?1, id, 'confirmed', 0, 0 FROM contacts`,
		`INSERT INTO sends (campaign_id, contact_id, email, status, updated_at, sent_at, opens, human_opens, clicks, human_clicks, bounce)
SELECT ?2, id, email, 'sent', 0, 0, id % 4, id % 3 / 2, id % 10 / 9, id % 20 / 19, CASE id % 100 WHEN 0 THEN 'hard' WHEN 1 THEN 'soft' ELSE '' END FROM contacts`,
		`WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < ?4)
INSERT INTO events (at, kind, machine, campaign_id, send_id, contact_id, detail)
SELECT 1700000000 + x, CASE x % 10 WHEN 0 THEN 'click' WHEN 1 THEN 'hard_bounce' WHEN 2 THEN 'soft_bounce' ELSE 'open' END, x % 3 = 0,
	?2, x % ?3 + 1, x % ?3 + 1, CASE WHEN x % 10 IN (1, 2) THEN '550 5.1.1 user unknown ' || (x % 7) ELSE '' END FROM i`,
		`WITH RECURSIVE i(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM i WHERE x < 24 * 30)
INSERT INTO campaign_hours (campaign_id, hour, sent, opens, human_opens, unique_opens, unique_human_opens, clicks, unique_clicks)
SELECT ?2, 1700002800 + x * 3600, 270, 2700, 1800, 100, 60, 270, 30 FROM i`,
		`INSERT INTO campaign_event_counts (campaign_id, kind, n) SELECT campaign_id, kind, count(*) FROM events GROUP BY 1, 2`,
		`INSERT INTO campaign_bounces (campaign_id, kind, category, n, example) SELECT campaign_id, kind, 'user-unknown', count(*), max(detail)
FROM events WHERE kind IN ('hard_bounce', 'soft_bounce') GROUP BY 1, 2`,
		// Sent, as a real campaign of that size would be.
		`UPDATE campaigns SET status = 'sent', recipients = ?3, started_at = 1700000000 WHERE id = ?2`,
	}, l.ID, c.ID, sends, events)
	b.ResetTimer()
	var report, breakdowns time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		r, err := s.CampaignReport(ctx, c.ID, false)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.CampaignSeries(ctx, c.ID, r.Campaign.StartedAt, time.UTC); err != nil {
			b.Fatal(err)
		}
		if _, err := s.CampaignBounces(ctx, c.ID); err != nil {
			b.Fatal(err)
		}
		if _, err := s.CampaignLinks(ctx, c.ID, 20); err != nil {
			b.Fatal(err)
		}
		if _, err := s.CampaignRecipients(ctx, c.ID, FilterOpened, false, 0, 50); err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.CampaignEvents(ctx, c.ID, "", Newest, 50, 0); err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.CampaignEvents(ctx, c.ID, ResultClick, Newest, 50, 0); err != nil {
			b.Fatal(err)
		}
		report += time.Since(start)
		start = time.Now()
		if _, err := s.CampaignDomains(ctx, c.ID, false); err != nil {
			b.Fatal(err)
		}
		if _, err := s.CampaignLists(ctx, r.Campaign, false); err != nil {
			b.Fatal(err)
		}
		breakdowns += time.Since(start)
	}
	b.ReportMetric(float64(report.Milliseconds())/float64(b.N), "ms/report")
	b.ReportMetric(float64(breakdowns.Milliseconds())/float64(b.N), "ms/domains+lists")
}

// BenchmarkOverviewYear sums a year of hourly counters of 200 campaigns,
// each counting for two weeks, day by day.
func BenchmarkOverviewYear(b *testing.B) {
	s := openStoreAt(b, b.TempDir(), nil)
	ctx := context.Background()
	year := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	seed(b, s, []string{
		`WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < 200)
INSERT INTO campaigns (name, status, started_at, created_at, updated_at) SELECT 'Campaign ' || x, 'sent', ?1 + x * 43 * 3600, 0, 0 FROM i`,
		`WITH RECURSIVE i(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM i WHERE x < 14 * 24 - 1)
INSERT INTO campaign_hours (campaign_id, hour, sent, delivered, opens, unique_opens, clicks, unique_clicks)
SELECT c.id, c.started_at + x * 3600, 100, 95, 40, 20, 10, 5 FROM campaigns c, i`,
	}, year.Unix())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o, err := s.Overview(ctx, year, year.AddDate(1, 0, 0), IntervalDay, time.UTC)
		if err != nil {
			b.Fatal(err)
		}
		if len(o.Points) != 365 || len(o.Campaigns) != 200 {
			b.Fatalf("got %d points and %d campaigns", len(o.Points), len(o.Campaigns))
		}
	}
}

// seed runs bulk inserts, each given every arg.
func seed(b *testing.B, s *Store, queries []string, args ...any) {
	b.Helper()
	for _, q := range queries {
		if _, err := s.w.ExecContext(context.Background(), q, args...); err != nil {
			b.Fatalf("%v\n%s", err, q)
		}
	}
}

// bigCampaign opens a store with a list and a campaign to it, for a
// benchmark to seed.
//
// HERALD_BENCH_DIR keeps the last run's data in that directory, emptied
// first, for the running binary to serve afterwards.
func bigCampaign(b *testing.B) (*Store, List, Campaign) {
	dir := os.Getenv("HERALD_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	} else if err := os.RemoveAll(dir); err != nil {
		b.Fatal(err)
	}
	s := openStoreAt(b, dir, nil)
	ctx := context.Background()
	l, err := s.CreateList(ctx, ListInput{Name: new("Everyone")})
	if err != nil {
		b.Fatal(err)
	}
	c, err := s.CreateCampaign(ctx, CampaignInput{Name: new("Big"), ListIDs: &[]int64{l.ID}})
	if err != nil {
		b.Fatal(err)
	}
	return s, l, c
}
