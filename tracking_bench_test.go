package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
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
// of a campaign of 5,000 (HERALD_BENCH_SENDS) from 256 keep-alive
// connections, as many mail clients and image proxies at once
// (HERALD_BENCH_CLIENTS), one open per iteration, and checks that the database holds exactly as many opens as
// got a 200, once the hit log is applied. It reports hits a second, that
// applying included, and the server process's CPU per hit.
//
//	go test -run X -bench TrackingHits -benchtime 300000x .
func BenchmarkTrackingHits(b *testing.B) {
	sends, workers := 5000, 256
	if v, err := strconv.Atoi(os.Getenv("HERALD_BENCH_SENDS")); err == nil && v > 0 {
		sends = v
	}
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
	var next atomic.Int64
	cpu0 := procCPU(b, cmd.Process.Pid)
	start := time.Now()
	b.ResetTimer()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			c, err := dialHits(addr)
			if err != nil {
				b.Error(err)
				return
			}
			defer c.Close()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				code, err := c.get(paths[i%int64(sends)])
				switch {
				case err != nil:
					b.Error(err)
					return
				case code == http.StatusOK:
					ok.Add(1)
				default:
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	// Applying the logged hits to the counts is part of the work.
	waitFor(b, "the logged hits to be applied", func() string {
		if n, err := st.PendingHits(context.Background()); err == nil && n == 0 {
			return "none left"
		}
		return ""
	})
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

// hitConn is a lean HTTP/1.1 client on one keep-alive connection, one
// request at a time as a mail client or image proxy sends them; it costs a
// fraction of net/http's client, which leaves the machine's CPU to the
// server being measured.
type hitConn struct {
	net.Conn
	r   *bufio.Reader
	req []byte
}

func dialHits(addr string) (*hitConn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &hitConn{Conn: c, r: bufio.NewReader(c)}, nil
}

// get requests path and reads the whole answer; it returns the status.
func (c *hitConn) get(path string) (int, error) {
	c.req = append(c.req[:0], "GET "...)
	c.req = append(c.req, path...)
	c.req = append(c.req, " HTTP/1.1\r\nHost: bench\r\nUser-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) Thunderbird/128.0\r\n\r\n"...)
	if _, err := c.Write(c.req); err != nil {
		return 0, err
	}
	status, length := 0, -1
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 {
			break
		}
		switch {
		case status == 0:
			f := bytes.Fields(line)
			if len(f) < 2 {
				return 0, fmt.Errorf("status line %q", line)
			}
			status, _ = strconv.Atoi(string(f[1]))
		case len(line) > 15 && strings.EqualFold(string(line[:15]), "Content-Length:"):
			length, _ = strconv.Atoi(strings.TrimSpace(string(line[15:])))
		}
	}
	if length < 0 {
		return 0, errors.New("an answer without Content-Length")
	}
	_, err := c.r.Discard(length)
	return status, err
}
