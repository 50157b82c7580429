package sources

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"

	"herald/store"
)

// BenchmarkWalk fetches 100 pages of 1,000 customers each from a loopback
// HTTPS API and decodes them: records a second, and CPU a record, the
// API's own share included.
func BenchmarkWalk(b *testing.B) {
	const pages, size = 100, 1000
	// Made beforehand, so that the API's share is serving, not encoding;
	// each page its own, as an API that pages answers.
	var bodies [pages][]byte
	for n := range bodies {
		recs := customers(size)
		for i, r := range recs {
			r["id"] = n*size + i + 1
		}
		var err error
		if bodies[n], err = json.Marshal(map[string]any{"data": recs}); err != nil {
			b.Fatal(err)
		}
	}
	srv, f := api(b, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("page"))
		w.Header().Set("Content-Type", "application/json")
		if n < 1 || n > pages {
			w.Write([]byte(`{"data":[]}`))
			return
		}
		w.Write(bodies[n-1])
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

// BenchmarkRun runs a source of 100,000 customers, 1,000 a page, from a
// loopback HTTPS API into SQLite, onto a list with a tag: records stored a
// second, the whole run. The API answers by customer id, so the addresses
// come in no order, as a shop's do.
func BenchmarkRun(b *testing.B) {
	const pages, size = 100, 1000
	srv, f := api(b, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("page"))
		out := make([]map[string]any, 0, size)
		for i := (n-1)*size + 1; n <= pages && i <= n*size; i++ {
			out = append(out, map[string]any{"id": i, "email": "c" + strconv.Itoa(i*7919%(pages*size)) + "@example.com", "first_name": "C", "address": map[string]any{"city": "Paris"}})
		}
		writeJSON(w, map[string]any{"data": out})
	})
	for range b.N {
		b.StopTimer()
		st := testStore(b)
		name, u := "Shop", srv.URL
		list, err := st.CreateList(context.Background(), store.ListInput{Name: &name})
		if err != nil {
			b.Fatal(err)
		}
		src, err := st.CreateSource(context.Background(), store.SourceInput{Name: &name, URL: &u, Paging: &store.SourcePaging{Kind: "page", Size: size},
			Mapping: &store.SourceMapping{Mode: store.ImportUpsert, ListIDs: []int64{list.ID}, Tags: []string{"shop"}, Fields: []store.SourceField{
				{Path: "email", Target: "email"}, {Path: "first_name", Target: "first_name"}, {Path: "address.city", Target: "attribute:city"}}}}, "bench")
		if err != nil {
			b.Fatal(err)
		}
		r := &Runner{Store: st, Fetcher: f, Log: quiet()}
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime(b)
		run, _, err := r.Run(context.Background(), src.ID, time.UTC)
		elapsed, cpu := time.Since(start), cpuTime(b)-cpu0
		if err != nil || run.Job.Created != pages*size {
			b.Fatalf("run: %+v, %v", run.Job, err)
		}
		b.ReportMetric(float64(pages*size)/elapsed.Seconds(), "records/s")
		b.ReportMetric(float64(cpu.Nanoseconds())/1000/float64(pages*size), "cpu-µs/record")
	}
}
