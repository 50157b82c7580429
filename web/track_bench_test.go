package web

import (
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"herald/mailer/smtptest"
	"herald/store"
)

// BenchmarkOpenHit answers open pixels in process, through the whole
// router and the batching writer, from 32 concurrent clients.
//
//	go test -run X -bench OpenHit ./web
func BenchmarkOpenHit(b *testing.B) {
	h, _, sink := sendingHarness(b, smtptest.Options{})
	_, msgs := sentTracked(b, h, sink, 50, store.Tracking{Opens: true})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	var next, failed atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				res, err := client.Get(h.ts.URL + msgs[i%int64(len(msgs))]["o"][0])
				if err != nil || res.StatusCode != http.StatusOK {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		b.Fatalf("%d hits failed", failed.Load())
	}
}
