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
	// As serve runs, unless GOGC says otherwise.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(GCPercent))
	}
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("HERALD_BENCH_ROWS")); err == nil && v > 0 {
		n = v
	}
	srv := smtptest.Start(b, smtptest.Options{Discard: true})
	ctx := context.Background()
	box, _ := store.NewSecretBox([]byte("0123456789abcdef0123456789abcdef"))
	st, err := store.Open(ctx, b.TempDir(), box)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
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
	frozen := mailer.Content{Name: "Bench", FromName: "Bakery", FromEmail: "news@bakery.example",
		Source: mailer.Source{Subject: "News for {{.Contact.FirstName}}", Format: mailer.FormatMarkdown, Body: body, Layout: mailer.DefaultLayout}}
	if tracked {
		frozen.Tracking = mailer.Tracking{Opens: true, Clicks: true, UTM: track.UTM{Source: "herald", Medium: "email"}}
	}
	content, _ := json.Marshal(frozen)
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
	d := svc.Dispatcher()
	b.ResetTimer()
	for range b.N {
		c, err := st.CreateCampaign(ctx, store.CampaignInput{Name: &name, ListIDs: &[]int64{l.ID}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.StartCampaign(ctx, c.ID, string(content)); err != nil {
			b.Fatal(err)
		}
		before := srv.Count()
		cpuBefore := cpuTime()
		start := time.Now()
		if err := d.runCampaign(ctx, c.ID); err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		if got := srv.Count() - before; got != n {
			b.Fatalf("delivered: got %d, want %d", got, n)
		}
		b.ReportMetric(float64(n)/elapsed.Seconds(), "msgs/s")
		b.ReportMetric(float64((cpuTime()-cpuBefore).Microseconds())/float64(n), "cpu-µs/msg")
	}
	if kb := peakRSS(); kb > 0 {
		b.ReportMetric(float64(kb)/1024, "MB-peak-rss")
	}
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

// benchConns is the relay's connections in the benchmarks:
// HERALD_BENCH_CONNS, or 16.
func benchConns() int {
	if v, err := strconv.Atoi(os.Getenv("HERALD_BENCH_CONNS")); err == nil && v > 0 {
		return v
	}
	return 16
}
