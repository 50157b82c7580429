package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"herald/store"
)

// BenchmarkTrackingHits opens tracked messages through the running binary
// from 32 keep-alive connections (HERALD_BENCH_CLIENTS sets another number), one open per iteration, and checks that
// the database holds exactly as many opens as got a 200. It reports hits a
// second and the server process's CPU per hit.
//
//	go test -run X -bench TrackingHits -benchtime 200000x .
func BenchmarkTrackingHits(b *testing.B) {
	const sends = 5000
	workers := 32
	if v, err := strconv.Atoi(os.Getenv("HERALD_BENCH_CLIENTS")); err == nil && v > 0 {
		workers = v
	}
	bin := herald(b)
	dir := filepath.Join(b.TempDir(), "data")
	st, campaign, paths := trackedSends(b, dir, sends)
	// People open in no particular order.
	rand.Shuffle(len(paths), func(i, j int) { paths[i], paths[j] = paths[j], paths[i] })
	cmd, exited, logs, addr := startHerald(b, bin, dir, "")
	waitFor(b, "the server to answer", func() string {
		if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
			res.Body.Close()
			return "up"
		}
		return ""
	})
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	}()
	var ok, failed atomic.Int64
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}}
	var next atomic.Int64
	cpu0 := procCPU(b, cmd.Process.Pid)
	start := time.Now()
	b.ResetTimer()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				res, err := client.Get("http://" + addr + paths[i%sends])
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	took := time.Since(start)
	cpu := procCPU(b, cmd.Process.Pid) - cpu0
	b.ReportMetric(float64(ok.Load())/took.Seconds(), "hits/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "server-cpu-µs/hit")
	stored, err := st.CountEvents(context.Background(), campaign, store.ResultOpen)
	if err != nil {
		b.Fatal(err)
	}
	if failed.Load() > 0 || int64(stored) != ok.Load() {
		b.Fatalf("%d answered 200, %d failed, %d stored: every answered hit must be stored, and only those\n%s", ok.Load(), failed.Load(), stored, logs.String())
	}
}

// procCPU is the CPU time a process has used, user and system.
func procCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100
}
