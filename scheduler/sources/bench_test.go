package sources

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// BenchmarkWalk fetches 100 pages of 1,000 customers each from a loopback
// HTTPS API and decodes them: records a second, and CPU a record, the
// API's own share included.
func BenchmarkWalk(b *testing.B) {
	const pages, size = 100, 1000
	page, err := json.Marshal(map[string]any{"data": customers(size)})
	if err != nil {
		b.Fatal(err)
	}
	srv, f := api(b, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("page"))
		w.Header().Set("Content-Type", "application/json")
		if n > pages {
			w.Write([]byte(`{"data":[]}`))
			return
		}
		w.Write(page)
	})
	spec := Spec{URL: srv.URL, Paging: Paging{Kind: PagingPage, Size: size}}
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime(b)
	records := 0
	for range b.N {
		err := f.Walk(context.Background(), spec, First(spec.Paging), func(p Page) error {
			records += len(p.Records)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	elapsed, cpu := time.Since(start), cpuTime(b)-cpu0
	b.StopTimer()
	if records != b.N*pages*size {
		b.Fatalf("got %d records, want %d", records, b.N*pages*size)
	}
	b.ReportMetric(float64(records)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/1000/float64(records), "cpu-µs/record")
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
