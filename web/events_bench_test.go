package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"herald/store"
)

// BenchmarkEventsBatch records custom events through POST /api/v1/events,
// 1,000 a call, for 10,000 known contacts, from two clients at once, and
// reports events a second and the process's CPU per event (HTTP, JSON and
// SQLite together). Each op is one event: run with -benchtime=100000x.
func BenchmarkEventsBatch(b *testing.B) {
	h := newHarness(b)
	ctx := context.Background()
	const contacts = 10_000
	var seed []store.EventInput
	for i := range contacts {
		seed = append(seed, store.EventInput{Email: fmt.Sprintf("p%05d@example.com", i), CreateContact: true, Name: "signup"})
		if len(seed) == store.MaxEventBatch {
			if _, err := h.st.RecordEvents(ctx, seed); err != nil {
				b.Fatal(err)
			}
			seed = seed[:0]
		}
	}
	_, key, err := h.st.CreateAPIKey(ctx, store.NewAPIKey{Name: "bench", Scopes: []string{store.ScopeWrite}, Limits: store.RateLimits{Write: 100_000}})
	if err != nil {
		b.Fatal(err)
	}
	calls := (b.N + store.MaxEventBatch - 1) / store.MaxEventBatch
	bodies := make([][]byte, calls)
	for c := range calls {
		var events []map[string]any
		for i := range store.MaxEventBatch {
			n := c*store.MaxEventBatch + i
			events = append(events, map[string]any{"email": fmt.Sprintf("p%05d@example.com", n%contacts), "name": "order_placed",
				"properties": map[string]any{"total": n % 500, "plan": "pro", "items": n % 7}})
		}
		bodies[c], _ = json.Marshal(map[string]any{"events": events})
	}
	post := func(body []byte) {
		req, _ := http.NewRequest(http.MethodPost, h.ts.URL+"/api/v1/events", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Error(err)
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			b.Errorf("POST /api/v1/events: %d", res.StatusCode)
		}
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), benchCPU(b)
	work := make(chan []byte)
	done := make(chan struct{})
	for range 2 {
		go func() {
			for body := range work {
				post(body)
			}
			done <- struct{}{}
		}()
	}
	for _, body := range bodies {
		work <- body
	}
	close(work)
	<-done
	<-done
	elapsed, cpu := time.Since(start), benchCPU(b)-cpu0
	b.StopTimer()
	n := calls * store.MaxEventBatch
	b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/event")
	if _, total, err := h.st.CustomEvents(ctx, store.EventFilter{Name: "order_placed"}, 1, 0); err != nil || total != n {
		b.Fatalf("stored: %d (%v), want %d", total, err, n)
	}
}

func benchCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
