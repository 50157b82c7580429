package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkImportThroughBinary measures what an owner meets importing a
// file whose addresses come in no order, as exports from a shop or another
// mail service do: HERALD_BENCH_ROWS (1M) rows of four columns uploaded to
// the running binary's `POST /api/v1/imports`, from the upload to the job
// done as the API reports it, into an empty database and then, a second
// file of other addresses, into the one that now holds the first
// (into-filled); with the binary's peak memory.
//
//	go test -run X -bench ImportThroughBinary -benchtime 1x -timeout 30m .
func BenchmarkImportThroughBinary(b *testing.B) {
	rows := envInt("HERALD_BENCH_ROWS", 1_000_000)
	bin := herald(b)
	files := [2]string{shuffledCSV(b, rows, "p"), shuffledCSV(b, rows, "q")}
	for b.Loop() {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), "data")
		key := benchOwner(b, bin, dir)
		pid, addr, _, stop := benchServe(b, bin, dir)
		for i, name := range []string{"empty", "into-filled"} {
			b.StartTimer()
			start := time.Now()
			id := uploadImport(b, addr, key, files[i])
			var job map[string]any
			waitFor(b, "the import to end", func() string {
				job = benchAPI(b, addr, key, "GET", fmt.Sprintf("/api/v1/imports/%v", id), 200, "")
				if job["status"] == "done" || job["status"] == "failed" {
					return "ended"
				}
				time.Sleep(50 * time.Millisecond)
				return ""
			})
			took := time.Since(start)
			b.StopTimer()
			if job["status"] != "done" || job["created"] != float64(rows) {
				b.Fatalf("import %s: %v, want done with %d created", name, job, rows)
			}
			b.ReportMetric(float64(rows)/took.Seconds(), name+"-rows/s")
		}
		b.ReportMetric(float64(peakRSS(b, pid))/1024, "peak-MB")
		stop()
		b.StartTimer()
	}
}

// shuffledCSV writes rows contacts with addresses prefix<n>@…, in no order.
func shuffledCSV(b *testing.B, rows int, prefix string) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), prefix+".csv")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "email,first_name,last_name,city")
	for _, i := range rand.New(rand.NewPCG(uint64(len(prefix)), 7)).Perm(rows) {
		fmt.Fprintf(w, "%s%d@ex%d.com,F%d,L%d,C%d\n", prefix, i, i%100, i, i, i%50)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	return p
}

// uploadImport uploads a file to import as new contacts and returns the
// job's id.
func uploadImport(b *testing.B, addr, key, path string) any {
	b.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", filepath.Base(path))
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(fw, f)
	f.Close()
	mw.WriteField("mode", "create")
	mw.Close()
	req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/imports", &body)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := (&http.Client{Timeout: 5 * time.Minute}).Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Data map[string]any `json:"data"`
	}
	json.NewDecoder(res.Body).Decode(&out)
	if res.StatusCode != http.StatusAccepted {
		b.Fatalf("upload: %d %v", res.StatusCode, out)
	}
	return out.Data["id"]
}
