package store

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkHitWriter records opens of a 100,000-send campaign in random
// order from 256 goroutines through the batching writer, in process: the
// store's share of a tracking hit. It reports the process's CPU per hit.
//
//	go test ./store -run X -bench HitWriter -benchtime 200000x
func BenchmarkHitWriter(b *testing.B) {
	sends, workers := int64(100_000), 256
	if v, err := strconv.Atoi(os.Getenv("HERALD_BENCH_SENDS")); err == nil && v > 0 {
		sends = int64(v)
	}
	s, _, c := bigCampaign(b)
	ctx := context.Background()
	seed(b, s, []string{
		`WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < ?2)
INSERT INTO contacts (email, created_at, updated_at) SELECT 'person' || x || '@example.com', 0, 0 FROM i`,
		`INSERT INTO sends (campaign_id, contact_id, email, status, updated_at, sent_at) SELECT ?1, id, email, 'sent', 0, 0 FROM contacts`,
	}, c.ID, sends)
	var first int64
	if err := s.w.QueryRowContext(ctx, `SELECT min(id) FROM sends`).Scan(&first); err != nil {
		b.Fatal(err)
	}
	w := s.NewHitWriter(func(err error) { b.Error(err) })
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	at := time.Now()
	cpu0 := cpuTime(b)
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N / workers
	for i := range workers {
		n := per
		if i == 0 {
			n += b.N % workers
		}
		wg.Go(func() {
			for range n {
				h := Hit{Kind: ResultOpen, At: at, CampaignID: c.ID, SendID: first + rand.Int64N(sends)}
				if err := w.Record(ctx, h); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	// Applying the log is part of the work.
	if err := w.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/hit")
	var stored int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE kind = 'open'`).Scan(&stored); err != nil || stored != b.N {
		b.Fatalf("%d opens stored (%v); want %d", stored, err, b.N)
	}
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
