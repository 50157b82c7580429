package imports

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"herald/scheduler/outbound"
	"herald/store"
)

// benchRows is the size of the generated file; HERALD_BENCH_ROWS changes it.
func benchRows() int {
	if n, err := strconv.Atoi(os.Getenv("HERALD_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// generateCSV writes a file of rows contacts, the addresses sorted or in
// no order (as exports from a shop or another mail service come, by
// customer or subscriber id).
func generateCSV(b *testing.B, rows int, shuffled bool) string {
	b.Helper()
	order := make([]int, rows)
	for i := range order {
		order[i] = i
	}
	email := func(i int) string { return fmt.Sprintf("person%d@example%d.com", i, i%100) }
	if shuffled {
		rand.New(rand.NewPCG(1, 2)).Shuffle(rows, func(i, j int) { order[i], order[j] = order[j], order[i] })
	} else {
		slices.SortFunc(order, func(x, y int) int {
			ex, ey := email(x), email(y)
			if ex < ey {
				return -1
			}
			if ex > ey {
				return 1
			}
			return 0
		})
	}
	p := filepath.Join(b.TempDir(), "contacts.csv")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "Email Address,First Name,Last Name,City,Plan,Signed Up")
	cities := []string{"Leeds", "London", "Paris", "Berlin", "Lisbon"}
	for _, i := range order {
		fmt.Fprintf(w, "%s,First%d,Last%d,%s,plan-%d,2024-%02d-%02d\n", email(i), i, i, cities[i%5], i%3, i%12+1, i%28+1)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return p
}

// BenchmarkImport imports a generated file of 1M contacts onto a list with
// a tag, and reports rows per second: with the addresses sorted, in no
// order, and in no order into a database that already holds 1M other
// contacts (each on a list, with the same attributes).
//
//	go test ./scheduler/imports -run X -bench Import -benchtime 1x -timeout 30m
func BenchmarkImport(b *testing.B) {
	// As serve runs, unless GOGC or GOMEMLIMIT say otherwise.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(outbound.GCPercent))
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(outbound.MemoryLimit))
	}
	rows := benchRows()
	for _, tc := range []struct {
		name           string
		shuffled, full bool
	}{{"sorted", false, false}, {"shuffled", true, false}, {"shuffled into 1M", true, true}} {
		b.Run(tc.name, func(b *testing.B) {
			path := generateCSV(b, rows, tc.shuffled)
			for b.Loop() {
				b.StopTimer()
				st := openStore(b)
				l, err := st.CreateList(context.Background(), store.ListInput{Name: ptr("Everyone")})
				if err != nil {
					b.Fatal(err)
				}
				if tc.full {
					fill(b, st, l.ID, 1_000_000)
				}
				runtime.GC()
				debug.FreeOSMemory()
				resetPeakRSS()
				b.StartTimer()
				start := time.Now()
				j := runImport(b, st, path, autoSetup(store.ImportCreate, []int64{l.ID}, []string{"imported"}), DefaultBatchSize)
				took := time.Since(start)
				if j.Status != store.ImportDone || j.Created != rows {
					b.Fatalf("import: got %s with %d created (%s), want done with %d", j.Status, j.Created, j.Error, rows)
				}
				b.ReportMetric(float64(rows)/took.Seconds(), "rows/s")
				b.ReportMetric(float64(peakRSS())/1024, "peak-MB")
			}
		})
	}
}

// fill puts n contacts, whose addresses no generated file has, on list in
// no order of address.
func fill(b *testing.B, st *store.Store, list int64, n int) {
	db, err := sql.Open("sqlite3", "file:"+st.Path()+"?_busy_timeout=10000")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < ?)
INSERT INTO contacts (email, first_name, attributes, created_at, updated_at)
SELECT 'earlier' || x || '@example' || (x % 100) || '.com', 'First' || x,
	json_object('city', 'Leeds', 'plan', 'plan-' || (x % 3), 'signed_up', '2024-01-01'), 0, 0 FROM i ORDER BY random()`, n); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO list_members (list_id, contact_id, status, created_at, updated_at)
SELECT ?, id, 'confirmed', 0, 0 FROM contacts`, list); err != nil {
		b.Fatal(err)
	}
}

// peakRSS is the process's peak resident memory in KiB (VmHWM), reset
// before each run, so that it is the import's.
func peakRSS() int {
	raw, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

// resetPeakRSS starts VmHWM afresh from the current resident memory.
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }
