package imports

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"herald/store"
)

// benchRows is the size of the generated file; HERALD_BENCH_ROWS changes it.
func benchRows() int {
	if n, err := strconv.Atoi(os.Getenv("HERALD_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

func generateCSV(b *testing.B, rows int) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), "contacts.csv")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "Email Address,First Name,Last Name,City,Plan,Signed Up")
	cities := []string{"Leeds", "London", "Paris", "Berlin", "Lisbon"}
	for i := 0; i < rows; i++ {
		fmt.Fprintf(w, "person%d@example%d.com,First%d,Last%d,%s,plan-%d,2024-%02d-%02d\n", i, i%100, i, i, cities[i%5], i%3, i%12+1, i%28+1)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return p
}

// BenchmarkImport imports a generated file of 1M contacts onto a list with a
// tag, and reports rows per second.
func BenchmarkImport(b *testing.B) {
	rows := benchRows()
	path := generateCSV(b, rows)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st := openStore(b)
		l, err := st.CreateList(context.Background(), store.ListInput{Name: ptr("Everyone")})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		j := runImport(b, st, path, autoSetup(store.ImportCreate, []int64{l.ID}, []string{"imported"}), DefaultBatchSize)
		took := time.Since(start)
		if j.Status != store.ImportDone || j.Created != rows {
			b.Fatalf("import: got %s with %d created (%s), want done with %d", j.Status, j.Created, j.Error, rows)
		}
		b.ReportMetric(float64(rows)/took.Seconds(), "rows/s")
	}
}
