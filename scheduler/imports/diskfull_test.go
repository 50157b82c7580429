package imports

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"herald/store"
)

// pauseCounter is a log handler that counts the pauses a worker logs.
type pauseCounter struct{ n atomic.Int64 }

func (p *pauseCounter) Enabled(context.Context, slog.Level) bool { return true }
func (p *pauseCounter) WithAttrs([]slog.Attr) slog.Handler       { return p }
func (p *pauseCounter) WithGroup(string) slog.Handler            { return p }
func (p *pauseCounter) Handle(_ context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "import paused: the disk is full") {
		p.n.Add(1)
	}
	return nil
}

// startWorker runs w until the returned stop is called, which waits for it.
func startWorker(t *testing.T, w *Worker) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once atomic.Bool
	stop = func() {
		if once.CompareAndSwap(false, true) {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("worker: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls until ok returns true.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestImportPausesOnAFullDiskAndResumes lets the database grow by a few
// pages, so an import meets a full disk part way through: it must pause
// with its file and its place kept, retry while the disk stays full, and
// once there is space finish with every line imported exactly once, in the
// same worker or in a new one after a restart.
func TestImportPausesOnAFullDiskAndResumes(t *testing.T) {
	t.Parallel()
	const rows = 3000
	var file strings.Builder
	file.WriteString("email,first_name\n")
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&file, "p%04d@example.com,First %d\n", i, i)
	}
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart %v", restart), func(t *testing.T) {
			st := openStore(t)
			ctx := context.Background()
			l, _ := st.CreateList(ctx, store.ListInput{Name: ptr("News")})
			path := writeFile(t, file.String())
			h, err := Inspect(path)
			if err != nil {
				t.Fatal(err)
			}
			setup := autoSetup(store.ImportCreate, []int64{l.ID}, []string{"imported"})(h)
			j, err := st.CreateImport(ctx, store.ImportJob{FileName: "upload.csv", FilePath: path, FileSize: fileSize(t, path), Headers: h.Columns,
				Delimiter: string(h.Delimiter), Offset: h.DataOffset, Line: h.DataLine}, &setup)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.LimitGrowth(ctx, 40); err != nil {
				t.Fatal(err)
			}
			var pauses pauseCounter
			newWorker := func() *Worker {
				w := NewWorker(st, slog.New(&pauses))
				w.Idle, w.BatchSize, w.Retry, w.RetryMax = 5*time.Millisecond, 100, time.Millisecond, 8*time.Millisecond
				return w
			}
			stop := startWorker(t, newWorker())

			waitFor(t, "three tries on a full disk", func() bool { return pauses.n.Load() >= 3 })
			var paused store.ImportJob
			waitFor(t, "the job to show it is paused", func() bool {
				paused, err = st.Import(ctx, j.ID)
				return err == nil && paused.Status == store.ImportPaused
			})
			t.Logf("paused at line %d of %d, after %d tries", paused.Line, rows+1, pauses.n.Load())
			if paused.Error != DiskFullReason || paused.Total == 0 || paused.Total >= rows {
				t.Fatalf("paused job: got error %q after %d lines, want %q part way", paused.Error, paused.Total, DiskFullReason)
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("the file of the paused import: %v, want it kept", err)
			}
			if n, _ := st.CountContacts(ctx, store.ContactFilter{Tag: "imported"}); n != paused.Created {
				t.Fatalf("contacts while paused: got %d, want the %d of the committed lines", n, paused.Created)
			}

			if restart {
				stop()
			}
			if err := st.LiftGrowthLimit(ctx); err != nil {
				t.Fatal(err)
			}
			if restart {
				startWorker(t, newWorker())
			}
			var done store.ImportJob
			waitFor(t, "the import to end", func() bool {
				done, err = st.Import(ctx, j.ID)
				return err == nil && done.Status != store.ImportRunning && done.Status != store.ImportPaused
			})
			if done.Status != store.ImportDone || done.Error != "" || done.Total != rows || done.Created != rows || done.Skipped != 0 || done.Invalid != 0 {
				t.Fatalf("after space is freed: got %s (%q) total %d created %d skipped %d invalid %d, want done with %d created",
					done.Status, done.Error, done.Total, done.Created, done.Skipped, done.Invalid, rows)
			}
			for _, f := range []store.ContactFilter{{}, {Tag: "imported"}, {ListID: l.ID}} {
				if n, _ := st.CountContacts(ctx, f); n != rows {
					t.Errorf("contacts matching %+v: got %d, want %d", f, n, rows)
				}
			}
			if c, err := st.ContactByEmail(ctx, fmt.Sprintf("p%04d@example.com", rows-1)); err != nil || c.FirstName != fmt.Sprintf("First %d", rows-1) {
				t.Errorf("the last line: got %+v, %v", c, err)
			}
			// The worker removes the file just after it marks the import done.
			waitFor(t, "the file to be removed", func() bool {
				_, err := os.Stat(path)
				return os.IsNotExist(err)
			})
		})
	}
}
