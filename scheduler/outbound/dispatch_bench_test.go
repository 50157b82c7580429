package outbound

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"herald/mailer"
	"herald/mailer/smtptest"
	"herald/mailer/track"
	"herald/store"
)

// BenchmarkCampaign sends a campaign through the whole pipeline: outbox
// claims, rendering a newsletter in the default layout, MIME, delivery over
// pooled connections to a loopback SMTP server, and outcomes in SQLite. It
// reports messages per second. HERALD_BENCH_ROWS sets the audience (100,000).
func BenchmarkCampaign(b *testing.B) { benchCampaign(b, "", false) }

// BenchmarkCampaignTracked is BenchmarkCampaign with open and click
// tracking on: a pixel and 13 click redirects a message, with UTM
// parameters, so the two compare what tracking costs.
func BenchmarkCampaignTracked(b *testing.B) { benchCampaign(b, "", true) }

// BenchmarkCampaignDKIM is BenchmarkCampaign with every message signed with
// an RSA-2048 DKIM key, or Ed25519 with HERALD_BENCH_DKIM=ed25519.
func BenchmarkCampaignDKIM(b *testing.B) {
	algorithm := mailer.DKIMRSA
	if os.Getenv("HERALD_BENCH_DKIM") == mailer.DKIMEd25519 {
		algorithm = mailer.DKIMEd25519
	}
	benchCampaign(b, algorithm, false)
}

// benchCampaign runs the benchmark, with messages signed by a DKIM key of
// algorithm unless it is "", and tracked if asked.
func benchCampaign(b *testing.B, algorithm string, tracked bool) {
	bc := newBenchCampaigns(b, algorithm)
	b.ResetTimer()
	for range b.N {
		elapsed, cpu := bc.send(b, tracked)
		b.ReportMetric(float64(bc.n)/elapsed.Seconds(), "msgs/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(bc.n), "cpu-µs/msg")
	}
	if kb := peakRSS(); kb > 0 {
		b.ReportMetric(float64(kb)/1024, "MB-peak-rss")
	}
}

// BenchmarkTrackingCost sends the same campaign to the same audience,
// untracked and tracked by turns, HERALD_BENCH_ROUNDS (10) times each in
// one process, and reports how much slower the tracked sends were in all
// and how much more CPU they took. Sends of a few seconds, taken by turns
// and in both orders, meet the same moments of a busy machine, so the
// ratio holds where single runs swing by a quarter.
func BenchmarkTrackingCost(b *testing.B) {
	bc := newBenchCampaigns(b, "")
	rounds := 10
	if v, err := strconv.Atoi(os.Getenv("HERALD_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	b.ResetTimer()
	for range b.N {
		var wall, cpu [2]time.Duration
		for i := range 2 * rounds {
			// Untracked first in even rounds, tracked first in odd ones.
			tracked := (i+i/2)%2 == 1
			w, c := bc.send(b, tracked)
			k := map[bool]int{false: 0, true: 1}[tracked]
			wall[k] += w
			cpu[k] += c
		}
		b.ReportMetric(100*(float64(wall[1])/float64(wall[0])-1), "%-slower")
		b.ReportMetric(100*(float64(cpu[1])/float64(cpu[0])-1), "%-more-cpu")
		b.ReportMetric(float64(cpu[0].Microseconds())/float64(rounds*bc.n), "cpu-µs/msg-untracked")
		b.ReportMetric(float64(cpu[1].Microseconds())/float64(rounds*bc.n), "cpu-µs/msg-tracked")
	}
}

// benchCampaigns is an audience of HERALD_BENCH_ROWS (100,000) contacts
// in one list, a relay to the benchmarks' SMTP server, and the newsletter
// the benchmarks send them.
type benchCampaigns struct {
	n      int
	st     *store.Store
	d      *Dispatcher
	srv    *smtptest.Server
	listID int64
	// content is the newsletter frozen, untracked and tracked.
	content [2]string
}

func newBenchCampaigns(b *testing.B, algorithm string) *benchCampaigns {
	// As serve runs, unless GOGC says otherwise.
	if os.Getenv("GOGC") == "" {
		old := debug.SetGCPercent(GCPercent)
		b.Cleanup(func() { debug.SetGCPercent(old) })
	}
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("HERALD_BENCH_ROWS")); err == nil && v > 0 {
		n = v
	}
	srv := benchSink(b)
	ctx := context.Background()
	box, _ := store.NewSecretBox([]byte("0123456789abcdef0123456789abcdef"))
	st, err := store.Open(ctx, b.TempDir(), box)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	name := "Everyone"
	l, err := st.CreateList(ctx, store.ListInput{Name: &name})
	if err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("sqlite3", "file:"+st.Path()+"?_busy_timeout=10000")
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{
		`WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < ?)
INSERT INTO contacts (email, first_name, attributes, created_at, updated_at)
SELECT 'person' || x || '@example.com', 'Person' || x, '{"city":"Leeds"}', 0, 0 FROM i`,
		`INSERT INTO list_members (list_id, contact_id, status, created_at, updated_at) SELECT ?, id, 'confirmed', 0, 0 FROM contacts`,
	} {
		arg := any(n)
		if q[0] == 'I' {
			arg = l.ID
		}
		if _, err := db.Exec(q, arg); err != nil {
			b.Fatal(err)
		}
	}
	db.Close()

	body := "Hello {{.Contact.FirstName | default \"friend\"}},\n\n"
	for range 12 {
		body += "## News from the bakery\n\nWe baked something new this week in {{.Contact.Attributes.city | default \"town\"}}. Flour, water, salt and time.\n\n[Read more](https://bakery.example/story)\n\n"
	}
	bc := &benchCampaigns{n: n, st: st, srv: srv, listID: l.ID}
	frozen := mailer.Content{Name: "Bench", FromName: "Bakery", FromEmail: "news@bakery.example",
		Source: mailer.Source{Subject: "News for {{.Contact.FirstName}}", Format: mailer.FormatMarkdown, Body: body, Layout: mailer.DefaultLayout}}
	for i, tracked := range []bool{false, true} {
		if tracked {
			frozen.Tracking = mailer.Tracking{Opens: true, Clicks: true, UTM: track.UTM{Source: "herald", Medium: "email"}}
		}
		content, _ := json.Marshal(frozen)
		bc.content[i] = string(content)
	}
	sink(b, st, srv, benchConns())
	if _, err := st.SaveGeneral(ctx, store.General{OrgName: "Bakery", PostalAddress: "1 Mill Lane", BaseURL: "https://news.example"}); err != nil {
		b.Fatal(err)
	}
	svc := newService(b, st, func(c *Config) { c.FirstRetry, c.RelayTimeout = 0, 0 })
	if algorithm != "" {
		if _, err := svc.AddDKIMKey(ctx, "bakery.example", "herald1", algorithm); err != nil {
			b.Fatal(err)
		}
	}
	bc.d = svc.Dispatcher()
	return bc
}

// send sends a new campaign of the newsletter, tracked or not, to the
// whole audience, and returns the time it took and the process's CPU time.
func (bc *benchCampaigns) send(b *testing.B, tracked bool) (elapsed, cpu time.Duration) {
	ctx := context.Background()
	name := "Bench"
	c, err := bc.st.CreateCampaign(ctx, store.CampaignInput{Name: &name, ListIDs: &[]int64{bc.listID}})
	if err != nil {
		b.Fatal(err)
	}
	content := bc.content[0]
	if tracked {
		content = bc.content[1]
	}
	if _, err := bc.st.StartCampaign(ctx, c.ID, content); err != nil {
		b.Fatal(err)
	}
	before := bc.srv.Count()
	cpuBefore := cpuTime()
	start := time.Now()
	if err := bc.d.runCampaign(ctx, c.ID); err != nil {
		b.Fatal(err)
	}
	elapsed, cpu = time.Since(start), cpuTime()-cpuBefore
	if got := bc.srv.Count() - before; got != bc.n {
		b.Fatalf("delivered: got %d, want %d", got, bc.n)
	}
	return elapsed, cpu
}

// cpuTime is the CPU time the process has used, user and system: the
// benchmark's cost per message, whatever else the machine is doing.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS reads the process's peak resident memory in KiB, SQLite's C heap
// included, from /proc; 0 where there is none.
func peakRSS() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return n
		}
	}
	return 0
}

// benchSink is the SMTP server of the benchmarks: in this process, or with
// HERALD_BENCH_SINK=process in a process of its own, so that cpu-µs/msg is
// Herald's alone, as when the relay is another machine.
func benchSink(b *testing.B) *smtptest.Server {
	if os.Getenv("HERALD_BENCH_SINK") == "process" {
		return smtptest.StartProcess(b)
	}
	return smtptest.Start(b, smtptest.Options{Discard: true})
}

// benchConns is the relay's connections in the benchmarks:
// HERALD_BENCH_CONNS, or 16.
func benchConns() int {
	if v, err := strconv.Atoi(os.Getenv("HERALD_BENCH_CONNS")); err == nil && v > 0 {
		return v
	}
	return 16
}
