package store

import (
	"context"
	"testing"
)

// BenchmarkMaterialise1M freezes a 1M-contact audience into a campaign's
// outbox: one list holding everyone, a few thousand of them unsubscribed,
// bounced or suppressed. Run with -benchtime 1x; seeding takes a while.
func BenchmarkMaterialise1M(b *testing.B) {
	const n = 1_000_000
	s := openStoreAt(b, b.TempDir(), nil)
	ctx := context.Background()
	l, err := s.CreateList(ctx, ListInput{Name: new("Everyone")})
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{
		`WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < ?)
INSERT INTO contacts (email, status, created_at, updated_at)
SELECT 'person' || x || '@example.com', CASE WHEN x % 500 = 0 THEN 'bounced' WHEN x % 333 = 0 THEN 'unsubscribed' ELSE 'active' END, 0, 0 FROM i`,
		`INSERT INTO list_members (list_id, contact_id, status, created_at, updated_at) SELECT ?, id, 'confirmed', 0, 0 FROM contacts`,
		`WITH RECURSIVE i(x) AS (SELECT 7 UNION ALL SELECT x + 1000 FROM i WHERE x < ?)
INSERT INTO suppressions (kind, value, created_at) SELECT 'email', 'person' || x || '@example.com', 0 FROM i`,
	} {
		arg := any(n)
		if q[0] == 'I' {
			arg = l.ID
		}
		if _, err := s.w.ExecContext(ctx, q, arg); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := s.CreateCampaign(ctx, CampaignInput{Name: new("Everyone"), ListIDs: &[]int64{l.ID}})
		if err != nil {
			b.Fatal(err)
		}
		m, err := s.Materialise(ctx, c.ID, Audience{Lists: c.ListIDs})
		if err != nil {
			b.Fatal(err)
		}
		if total := m.Recipients + m.Skipped[SkipBounced] + m.Skipped[SkipUnsubscribed] + m.Skipped[SkipSuppressed]; total != n {
			b.Fatalf("recipients and skipped: got %d (%+v), want %d", total, m, n)
		}
		b.ReportMetric(float64(m.Recipients), "recipients")
	}
}
