package webhooks

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"herald/scheduler/netguard"
	"herald/store"
)

// BenchmarkDeliveries sends events to a fast receiver on loopback, in the
// same process, and reports deliveries a second from the deliverer's start
// to the last one recorded, with the process's CPU time per delivery
// (deliverer, receiver and SQLite together). Run with
// -benchtime=20000x: each op is one delivery.
func BenchmarkDeliveries(b *testing.B) {
	st := openStore(b)
	var got atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	url := receiver.URL + "/hooks"
	events := []string{store.EventContactCreated}
	w, _, err := st.CreateWebhook(context.Background(), store.WebhookInput{URL: &url, Events: &events}, nil)
	if err != nil {
		b.Fatal(err)
	}
	// The events, made as a change makes them: with their contacts.
	ctx := context.Background()
	for i := range b.N {
		e := fmt.Sprintf("c%07d@example.com", i)
		if _, _, err := st.CreateContact(ctx, store.ContactInput{Email: &e, Source: "bench"}, false); err != nil {
			b.Fatal(err)
		}
	}
	d, err := New(Config{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Idle: 5 * time.Millisecond,
		Guard: &netguard.Guard{Allowed: func(string) bool { return true }}})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime(b)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	for {
		var delivered int
		if err := countDelivered(ctx, st, w.ID, &delivered); err != nil {
			b.Fatal(err)
		}
		if delivered >= b.N {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed, cpu := time.Since(start), cpuTime(b)-cpu0
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/delivery")
	if int(got.Load()) < b.N {
		b.Fatalf("the receiver got %d of %d", got.Load(), b.N)
	}
}

func countDelivered(ctx context.Context, st *store.Store, id int64, n *int) error {
	_, total, err := st.Deliveries(ctx, id, store.DeliveryFilter{Status: store.DeliveryDelivered}, 1, 0)
	*n = total
	return err
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
