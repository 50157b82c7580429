package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"herald/mailer/smtptest"
	"herald/store"
)

// BenchmarkCampaignThroughBinary measures what an owner meets when sending a
// campaign through the running binary, from the API call that sends it: the
// time until the first message reaches the relay (first-ms) and until the
// last (last-ms), messages a second, Herald's CPU a message and its peak
// memory. The relay is a discarding SMTP server in a process of its own, so
// the CPU is Herald's alone; it must take every recipient exactly once. The
// audience is HERALD_BENCH_ROWS (100,000) contacts on one list, whose
// addresses come in no order; the relay takes HERALD_BENCH_CONNS (16)
// connections, without TLS or DKIM; tracking is off unless
// HERALD_BENCH_TRACKED=1.
//
// HERALD_BENCH_BIN runs another build instead of this one, such as an older
// commit's, so the two can be measured by turns on the same machine. Each
// binary makes its own database, and all the rest goes through what builds
// back to 0e6a797 share: its CLI (user add, apikey add), its API (settings,
// relay, template, list, campaign) and, while it is stopped, plain SQL into
// the contacts and list_members tables.
//
//	go test -run X -bench CampaignThroughBinary -benchtime 1x .
//	git worktree add ../herald-old 0e6a797 && (cd ../herald-old && go build -o /tmp/herald-old .)
//	HERALD_BENCH_BIN=/tmp/herald-old go test -run X -bench CampaignThroughBinary -benchtime 1x .
func BenchmarkCampaignThroughBinary(b *testing.B) {
	n, conns := envInt("HERALD_BENCH_ROWS", 100_000), envInt("HERALD_BENCH_CONNS", 16)
	tracked := os.Getenv("HERALD_BENCH_TRACKED") == "1"
	bin := os.Getenv("HERALD_BENCH_BIN")
	if bin == "" {
		bin = herald(b)
	}
	for b.Loop() {
		b.StopTimer()
		sink := smtptest.StartProcess(b)
		dir := filepath.Join(b.TempDir(), "data")
		key := benchOwner(b, bin, dir)

		// First run: the settings, relay, template and list.
		_, addr, _, stop := benchServe(b, bin, dir)
		benchAPI(b, addr, key, "PATCH", "/api/v1/settings", 200, `{"org_name": "Bakery", "postal_address": "1 Mill Lane",
	"base_url": "https://news.bakery.test", "from_name": "Bakery", "from_email": "news@bakery.test", "timezone": "UTC"}`)
		relay := benchAPI(b, addr, key, "POST", "/api/v1/relays", 201, fmt.Sprintf(`{"name": "Sink", "kind": "smtp",
	"host": %q, "port": %d, "tls": "none", "max_connections": %d, "enabled": true}`, sink.Host(), sink.Port(), conns))
		body, _ := json.Marshal(benchNewsletter)
		tmpl := benchAPI(b, addr, key, "POST", "/api/v1/templates", 201,
			`{"name": "News", "kind": "campaign", "subject": "News for {{.Contact.FirstName}}", "markdown": `+string(body)+`}`)
		list := benchAPI(b, addr, key, "POST", "/api/v1/lists", 201, `{"name": "Everyone", "opt_in": "single"}`)
		stop()

		benchAudience(b, filepath.Join(dir, store.DBFile), int64(list["id"].(float64)), n)

		// Second run: the campaign, sent.
		pid, addr, logs, stop := benchServe(b, bin, dir)
		c := benchAPI(b, addr, key, "POST", "/api/v1/campaigns", 201, fmt.Sprintf(`{"name": "News", "template_id": %v,
	"list_ids": [%v], "relay_id": %v}`, tmpl["id"], list["id"], relay["id"]))
		path := fmt.Sprintf("/api/v1/campaigns/%v", c["id"])
		if _, ok := c["tracking"]; ok {
			benchAPI(b, addr, key, "PATCH", path, 200, fmt.Sprintf(`{"tracking": {"opens": %t, "clicks": %t}}`, tracked, tracked))
		} else if tracked {
			b.Log("this build has no tracking: its campaign goes out untracked")
		}
		waitIdle(b, pid)
		cpu0 := procCPU(b, pid)
		b.StartTimer()
		start := time.Now()
		benchAPI(b, addr, key, "POST", path+"/send", 202, "")
		waitDelivered(b, sink, n, logs)
		waitSent(b, addr, key, path)
		b.StopTimer()
		cpu := procCPU(b, pid) - cpu0
		peak := peakRSS(b, pid)
		stop()
		got := sink.Stats()
		sink.Close()
		if got.Messages != n || got.Recipients != n {
			b.Fatalf("the relay took %d messages to %d recipients, want %d to %d: none lost, none twice", got.Messages, got.Recipients, n, n)
		}
		b.ReportMetric(float64(n)/got.Last.Sub(start).Seconds(), "msgs/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/msg")
		b.ReportMetric(float64(got.First.Sub(start).Microseconds())/1000, "first-ms")
		b.ReportMetric(float64(got.Last.Sub(start).Microseconds())/1000, "last-ms")
		b.ReportMetric(float64(peak)/1024, "peak-MB")
		b.StartTimer()
	}
}

// benchNewsletter is the campaign's body: a dozen short stories with a link
// each, greeting each contact by name and town.
var benchNewsletter = "Hello {{.Contact.FirstName | default \"friend\"}},\n\n" + strings.Repeat(
	"## News from the bakery\n\nWe baked something new this week in {{.Contact.Attributes.city | default \"town\"}}. Flour, water, salt and time.\n\n[Read more](https://bakery.example/story)\n\n", 12)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchOwner makes a new database in dir with an owner and a full API key,
// through bin's own CLI, and returns the key.
func benchOwner(b *testing.B, bin, dir string) string {
	b.Helper()
	run := func(stdin string, args ...string) string {
		cmd := exec.Command(bin, args...)
		var out, errs bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errs
		if err := cmd.Run(); err != nil {
			b.Fatalf("herald %s: %v\n%s", strings.Join(args, " "), err, errs.String())
		}
		return out.String()
	}
	run("a long enough password\n", "user", "add", "--data", dir, "--email", "owner@example.com", "--role", "owner")
	out := strings.Fields(run("", "apikey", "add", "--data", dir, "--name", "bench", "--scope", "full"))
	if len(out) == 0 {
		b.Fatal("herald apikey add printed no key")
	}
	return out[len(out)-1]
}

// benchServe starts bin on dir and waits until it answers. stop stops it
// and waits for it; it runs when the benchmark ends too, if need be.
func benchServe(b *testing.B, bin, dir string) (pid int, addr string, logs *syncBuffer, stop func()) {
	b.Helper()
	cmd, exited, logs, addr := startHerald(b, bin, dir, "")
	stop = sync.OnceFunc(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	})
	b.Cleanup(stop)
	waitUp(b, addr)
	return cmd.Process.Pid, addr, logs, stop
}

// benchAPI calls the API and returns the data of its answer, which must
// have the status want.
func benchAPI(b *testing.B, addr, key, method, path string, want int, body string) map[string]any {
	b.Helper()
	status, out := apiCall(b, addr, key, method, path, body)
	data, _ := out["data"].(map[string]any)
	if status != want || data == nil {
		b.Fatalf("%s %s: got %d %v, want %d", method, path, status, out, want)
	}
	return data
}

// benchAudience puts n contacts on list into the stopped binary's database,
// with their addresses in no order, as a shop's customers come.
func benchAudience(b *testing.B, path string, list int64, n int) {
	b.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < ?)
INSERT INTO contacts (email, first_name, attributes, created_at, updated_at)
SELECT 'person' || x || '@example.com', 'Person' || x, '{"city":"Leeds"}', 0, 0 FROM i ORDER BY random()`,
		`INSERT INTO list_members (list_id, contact_id, status, created_at, updated_at) SELECT ?, id, 'confirmed', 0, 0 FROM contacts`,
	} {
		arg := any(n)
		if strings.HasPrefix(q, "INSERT") {
			arg = list
		}
		if _, err := db.Exec(q, arg); err != nil {
			b.Fatal(err)
		}
	}
}

// waitIdle waits, up to 10 seconds, for the process at pid to use no CPU
// for a quarter of a second, so that its start-up work is not counted.
func waitIdle(b *testing.B, pid int) {
	b.Helper()
	last := procCPU(b, pid)
	for range 40 {
		time.Sleep(250 * time.Millisecond)
		now := procCPU(b, pid)
		if now == last {
			return
		}
		last = now
	}
}

// waitDelivered waits until the sink has taken a message for each of n
// recipients, and fails if it takes none for a minute.
func waitDelivered(b *testing.B, sink *smtptest.Server, n int, logs *syncBuffer) {
	b.Helper()
	seen, since := 0, time.Now()
	for {
		st := sink.Stats()
		if st.Recipients >= n {
			return
		}
		if st.Recipients != seen {
			seen, since = st.Recipients, time.Now()
		}
		if time.Since(since) > time.Minute {
			b.Fatalf("the relay has taken %d of %d recipients, and no more for a minute\n%s", seen, n, logs.String())
		}
		time.Sleep(20 * time.Millisecond) // the sink keeps the times itself
	}
}

// waitSent waits until the campaign at path is sent: Herald has recorded
// every outcome.
func waitSent(b *testing.B, addr, key, path string) {
	b.Helper()
	waitFor(b, "the campaign to be sent", func() string {
		if c := benchAPI(b, addr, key, "GET", path, 200, ""); c["status"] == store.CampaignSent {
			return "sent"
		}
		return ""
	})
}

// peakRSS is the most memory the process at pid has held, in kB.
func peakRSS(b *testing.B, pid int) int {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb
		}
	}
	b.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}
