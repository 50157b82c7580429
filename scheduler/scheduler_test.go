package scheduler

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"herald/store"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestJobsRunAndReportTheirLastOutcome(t *testing.T) {
	t.Parallel()
	var okRuns, badRuns atomic.Int32
	s, err := New(quietLog(),
		Job{Name: "ok", Spec: "@every 1s", Run: func(context.Context) error { okRuns.Add(1); return nil }},
		Job{Name: "bad", Spec: "@every 1s", Run: func(context.Context) error { badRuns.Add(1); return errors.New("disk full") }},
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for (okRuns.Load() == 0 || badRuns.Load() == 0) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	jobs := s.Jobs()
	if len(jobs) != 2 || jobs[0].Name != "ok" || jobs[1].Name != "bad" {
		t.Fatalf("jobs: got %+v, want ok then bad", jobs)
	}
	if jobs[0].LastRun.IsZero() || jobs[0].LastError != "" {
		t.Errorf("ok job: got %+v, want a last run and no error", jobs[0])
	}
	if jobs[1].LastError != "disk full" {
		t.Errorf("bad job: got error %q, want disk full", jobs[1].LastError)
	}
}

func TestRunWaitsForARunningJobAndCancelsItsContext(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	var finished atomic.Bool
	s, err := New(quietLog(), Job{Name: "slow", Spec: "@every 1s", Run: func(ctx context.Context) error {
		select {
		case started <- struct{}{}:
		default:
		}
		<-ctx.Done()
		finished.Store(true)
		return ctx.Err()
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("job never started")
	}
	cancel()
	<-done
	if !finished.Load() {
		t.Fatal("Run returned before the running job finished")
	}
}

func TestBadSpecIsRefused(t *testing.T) {
	t.Parallel()
	if _, err := New(quietLog(), Job{Name: "x", Spec: "every tuesday", Run: func(context.Context) error { return nil }}); err == nil {
		t.Fatal("got nil error for a bad cron spec")
	}
}

func TestHousekeepingRemovesAbandonedUploads(t *testing.T) {
	t.Parallel()
	box, _ := store.NewSecretBox([]byte("0123456789abcdef0123456789abcdef"))
	dir := t.TempDir()
	st, err := store.Open(context.Background(), dir, box)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	path := filepath.Join(dir, "upload.csv")
	os.WriteFile(path, []byte("email\n"), 0o600)
	j, err := st.CreateImport(context.Background(), store.ImportJob{FileName: "upload.csv", FilePath: path, Headers: []string{"email"}, Delimiter: ","}, nil)
	if err != nil {
		t.Fatal(err)
	}
	job := Housekeeping(st, quietLog())
	if err := job.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("a fresh draft's file was removed: %v", err)
	}
	st2, _ := store.Open(context.Background(), dir, box)
	defer st2.Close()
	// Run housekeeping as if a day had passed, by asking for drafts older than none.
	paths, err := st2.CancelStaleDrafts(context.Background(), -time.Minute)
	if err != nil || len(paths) != 1 || paths[0] != path {
		t.Fatalf("stale drafts: got %v, %v", paths, err)
	}
	if got, _ := st2.Import(context.Background(), j.ID); got.Status != store.ImportCancelled {
		t.Fatalf("draft status: got %s, want cancelled", got.Status)
	}
}

// TestPausedJobsSkipTheirRuns: while Paused says so, a job's runs that
// fall due are skipped; once it no longer does, they run again.
func TestPausedJobsSkipTheirRuns(t *testing.T) {
	t.Parallel()
	var runs atomic.Int32
	var paused atomic.Bool
	paused.Store(true)
	s, err := New(quietLog(), Job{Name: "tidy", Spec: "@every 1s", Run: func(context.Context) error { runs.Add(1); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	s.Paused = func(context.Context) bool { return paused.Load() }
	s.runJob(Job{Name: "tidy", Run: func(context.Context) error { runs.Add(1); return nil }}, s.status["tidy"])
	if runs.Load() != 0 || !s.Jobs()[0].LastRun.IsZero() {
		t.Fatalf("a paused job ran: %d runs, %+v", runs.Load(), s.Jobs()[0])
	}
	paused.Store(false)
	s.runJob(Job{Name: "tidy", Run: func(context.Context) error { runs.Add(1); return nil }}, s.status["tidy"])
	if runs.Load() != 1 || s.Jobs()[0].LastRun.IsZero() {
		t.Errorf("the resumed job: %d runs, %+v; want one", runs.Load(), s.Jobs()[0])
	}
}
