package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"herald/mailer"
	"herald/mailer/smtptest"
	"herald/store"
)

// TestKillDuringCampaignLosesNobody runs Herald as its own process, sends a
// campaign to a loopback SMTP server that counts deliveries per recipient,
// kills the process with SIGKILL mid-campaign and starts it again. The
// campaign must carry on by itself and reach everyone; only messages in
// flight at the kill, at most one per open relay connection, may arrive twice.
func TestKillDuringCampaignLosesNobody(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const recipients, conns = 3000, 2
	sink := smtptest.Start(t, smtptest.Options{RejectRcpt: func(string) error {
		time.Sleep(time.Millisecond) // slow enough to kill it mid-way
		return nil
	}})

	bin := herald(t)
	dir, st := ownedData(t, bakery)
	ctx := context.Background()
	sinkRelay(t, st, sink, conns)
	name := "News"
	l, err := st.CreateList(ctx, store.ListInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	for i := range recipients {
		e := fmt.Sprintf("r%04d@example.com", i)
		if _, _, err := st.CreateContact(ctx, store.ContactInput{Email: &e, Lists: []int64{l.ID}, Source: "test"}, false); err != nil {
			t.Fatal(err)
		}
	}
	c := startedCampaign(t, st, name, l.ID)

	// First run: kill it once a fifth of the messages have arrived.
	cmd, exited, logs, _ := startHerald(t, bin, dir, "")
	waitFor(t, "the first deliveries", func() string {
		if n := sink.Count(); n >= recipients/5 {
			return fmt.Sprint(n)
		}
		return ""
	})
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	atKill := sink.Count()
	if atKill >= recipients {
		t.Fatalf("the campaign finished before the kill (%d delivered); the test proves nothing", atKill)
	}

	// Second run: it carries on by itself and finishes.
	cmd, exited, logs2, _ := startHerald(t, bin, dir, "")
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	}()
	waitFor(t, "the campaign to finish", func() string {
		got, err := st.Campaign(ctx, c.ID)
		if err == nil && got.Status == store.CampaignSent {
			return "sent"
		}
		return ""
	})

	per := map[string]int{}
	for _, m := range sink.Messages() {
		per[m.To[0]]++
	}
	missing, dupes := 0, 0
	for i := range recipients {
		switch n := per[fmt.Sprintf("r%04d@example.com", i)]; {
		case n == 0:
			missing++
		case n > 1:
			dupes += n - 1
		}
	}
	t.Logf("%d delivered before the kill; %d duplicates after the restart", atKill, dupes)
	if missing > 0 {
		t.Errorf("%d recipients never got the campaign", missing)
	}
	if dupes > conns {
		t.Errorf("%d duplicates, want at most %d (one per open connection)", dupes, conns)
	}
	counts, _ := st.SendCounts(ctx, c.ID)
	if counts[store.SendSent] != recipients {
		t.Errorf("sends recorded as sent: got %v, want all %d", counts, recipients)
	}
	if t.Failed() {
		t.Logf("first run:\n%s\nsecond run:\n%s", logs.String(), logs2.String())
	}
}

// TestKillWhileTheAudienceIsWrittenLosesNobody kills Herald while a
// campaign sends its first messages and is still writing the rest of its
// audience to the outbox. Started again, it writes the rest and sends to
// everyone once, but for at most one message per open relay connection.
func TestKillWhileTheAudienceIsWrittenLosesNobody(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const recipients, conns = 60_000, 2
	var slow atomic.Bool
	slow.Store(true)
	sink := smtptest.Start(t, smtptest.Options{Discard: true, Recipients: true, RejectRcpt: func(string) error {
		if slow.Load() {
			time.Sleep(2 * time.Millisecond) // the first run sends while the audience is written
		}
		return nil
	}})
	bin := herald(t)
	dir, st := ownedData(t, bakery)
	ctx := context.Background()
	sinkRelay(t, st, sink, conns)
	name := "News"
	l := listWith(t, st, name, recipients, `'r' || x || '@example.com'`)
	c := startedCampaign(t, st, name, l.ID)

	cmd, exited, logs, _ := startHerald(t, bin, dir, "")
	waitFor(t, "the first deliveries", func() string {
		if n := sink.Stats().Messages; n >= 5 {
			return fmt.Sprint(n)
		}
		return ""
	})
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	atKill := sink.Stats().Messages
	if got, err := st.Campaign(ctx, c.ID); err != nil || got.Materialised {
		t.Fatalf("the whole audience was written before the kill (%d delivered); the test proves nothing", atKill)
	}

	slow.Store(false)
	cmd, exited, logs2, _ := startHerald(t, bin, dir, "")
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	}()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		got, err := st.Campaign(ctx, c.ID)
		if err == nil && got.Status == store.CampaignSent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the campaign did not finish: %+v %v\nfirst run:\n%s\nsecond run:\n%s", got, err, logs.String(), logs2.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	stats := sink.Stats()
	t.Logf("%d delivered before the kill; %d messages to %d recipients in all", atKill, stats.Messages, stats.Recipients)
	if stats.Recipients != recipients {
		t.Errorf("%d recipients got the campaign, want all %d", stats.Recipients, recipients)
	}
	if dupes := stats.Messages - stats.Recipients; dupes > conns {
		t.Errorf("%d duplicates, want at most %d (one per open connection)", dupes, conns)
	}
	if got, _ := st.Campaign(ctx, c.ID); got.Recipients != recipients {
		t.Errorf("campaign recipients: got %d, want %d", got.Recipients, recipients)
	}
}

// bakery is the organisation the tests through the binary send for.
var bakery = store.General{OrgName: "Bakery", PostalAddress: "1 Mill Lane", FromName: "Bakery",
	FromEmail: "news@bakery.test", BaseURL: "https://news.bakery.test", Timezone: "UTC"}

// sinkRelay makes the relay to sink, with conns connections, without TLS.
// listWith creates a list and fills it with n confirmed members whose
// addresses the SQL expression email makes of x, 1 to n.
func listWith(t testing.TB, st *store.Store, name string, n int, email string) store.List {
	t.Helper()
	l, err := st.CreateList(context.Background(), store.ListInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	insertContacts(t, st.Path(), n, email, l.ID)
	return l
}

// startedCampaign creates a campaign to list, a short newsletter from the
// bakery, and starts it, for a run of the binary to send.
func startedCampaign(t testing.TB, st *store.Store, name string, list int64) store.Campaign {
	t.Helper()
	ctx := context.Background()
	c, err := st.CreateCampaign(ctx, store.CampaignInput{Name: &name, ListIDs: &[]int64{list}})
	if err != nil {
		t.Fatal(err)
	}
	content, _ := json.Marshal(mailer.Content{Name: name, FromName: "Bakery", FromEmail: "news@bakery.test",
		Source: mailer.Source{Subject: "News", Format: mailer.FormatMarkdown, Body: "Hello {{.Contact.Email}}", Layout: mailer.DefaultLayout}})
	if _, err := st.StartCampaign(ctx, c.ID, string(content)); err != nil {
		t.Fatal(err)
	}
	return c
}

func sinkRelay(t testing.TB, st *store.Store, sink *smtptest.Server, conns int) {
	t.Helper()
	if _, err := st.CreateRelay(context.Background(), store.RelayInput{Name: "Sink", Kind: "smtp", Host: sink.Host(), Port: sink.Port(), TLS: "none",
		MaxConnections: conns, Enabled: true}); err != nil {
		t.Fatal(err)
	}
}

// insertContacts puts n contacts into the database at path with plain SQL,
// each address the SQL expression email of x, from 1 to n, and on list
// unless it is 0: a large audience in a moment.
func insertContacts(t testing.TB, path string, n int, email string, list int64) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < ?)
INSERT INTO contacts (email, created_at, updated_at) SELECT `+email+`, 0, 0 FROM i`, n); err != nil {
		t.Fatal(err)
	}
	if list == 0 {
		return
	}
	if _, err := db.Exec(`INSERT INTO list_members (list_id, contact_id, status, created_at, updated_at)
SELECT ?, id, 'confirmed', 0, 0 FROM contacts`, list); err != nil {
		t.Fatal(err)
	}
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// ownedData makes a data folder with an owner, as `herald user add` does
// (an owner also keeps the setup link quiet), saves g as its general
// settings, and opens the store on it beside the binary the test runs.
func ownedData(t testing.TB, g store.General) (string, *store.Store) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if code, _, errs := runCLI(t, "a long enough password\n", "user", "add", "--data", dir, "--email", "owner@example.com", "--role", "owner"); code != 0 {
		t.Fatalf("user add: %s", errs)
	}
	st := openData(t, dir)
	if _, err := st.SaveGeneral(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	return dir, st
}

// startHerald runs the binary on dir at addr ("" for a free loopback
// address), with args added, and returns it, a channel that gets its exit,
// its output and its address.
func startHerald(t testing.TB, bin, dir, addr string, args ...string) (*exec.Cmd, chan error, *syncBuffer, string) {
	t.Helper()
	return startHeraldWith(t, bin, dir, addr, nil, args...)
}

// startHeraldWith is startHerald with env added to the test's environment.
func startHeraldWith(t testing.TB, bin, dir, addr string, env []string, args ...string) (*exec.Cmd, chan error, *syncBuffer, string) {
	t.Helper()
	if addr == "" {
		addr = freeAddr(t)
	}
	cmd := exec.Command(bin, append([]string{"--data", dir, "--addr", addr}, args...)...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	return cmd, exited, &logs, addr
}

// TestKillDuringSystemMailLosesNothing signs 300 people up to a double
// opt-in list through the running binary, each from an address of their
// own, then kills it with SIGKILL while their confirmation emails are going
// out and starts it again. Every sign-up that was answered gets its
// confirmation: each was committed to the transactional lane before the
// answer, and the lane carries on after the restart. Only messages in
// flight at the kill, one per lane worker at most, may arrive twice.
func TestKillDuringSystemMailLosesNothing(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const people, workers = 300, 4
	sink := smtptest.Start(t, smtptest.Options{RejectRcpt: func(string) error {
		time.Sleep(20 * time.Millisecond) // slower than sign-ups come in
		return nil
	}})
	bin := herald(t)
	dir := filepath.Join(t.TempDir(), "data")
	if code, _, errs := runCLI(t, "a long enough password\n", "user", "add", "--data", dir, "--email", "owner@example.com", "--role", "owner"); code != 0 {
		t.Fatalf("user add: %s", errs)
	}
	st := openData(t, dir)
	ctx := context.Background()
	addr := freeAddr(t)
	base := "http://" + addr
	if _, err := st.SaveGeneral(ctx, store.General{OrgName: "Bakery", PostalAddress: "1 Mill Lane", FromName: "Bakery",
		FromEmail: "news@bakery.test", BaseURL: base, Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	sinkRelay(t, st, sink, 1)
	name, double, public := "News", store.OptInDouble, store.VisibilityPublic
	l, err := st.CreateList(ctx, store.ListInput{Name: &name, OptIn: &double, Visibility: &public})
	if err != nil {
		t.Fatal(err)
	}
	cmd, exited, logs, _ := startHerald(t, bin, dir, addr, "--trusted-proxies", "127.0.0.1")
	waitFor(t, "the server", func() string {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			return "up"
		}
		return ""
	})
	var wg sync.WaitGroup
	var mu sync.Mutex
	answered := map[string]bool{}
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < people; i += 8 {
				email := fmt.Sprintf("p%03d@example.com", i)
				req, _ := http.NewRequest(http.MethodPost, base+"/subscribe/"+strconv.FormatInt(l.ID, 10),
					strings.NewReader(url.Values{"email": {email}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.0.%d.%d", i/250, i%250+1))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK && strings.Contains(string(body), "Check your inbox") {
					mu.Lock()
					answered[email] = true
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(answered) != people {
		t.Fatalf("%d of %d sign-ups answered; want all\n%s", len(answered), people, logs.String())
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	atKill := sink.Count()
	if atKill >= people {
		t.Fatalf("every confirmation went before the kill (%d); the test proves nothing", atKill)
	}

	cmd, exited, logs2, _ := startHerald(t, bin, dir, "")
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	}()
	waitFor(t, "every confirmation", func() string {
		if _, n, err := st.Messages(ctx, store.MessageFilter{Kind: store.MessageSystem, Status: store.MessageSent}, 1, 0); err == nil && n == people {
			return fmt.Sprint(n)
		}
		return ""
	})
	per := map[string]int{}
	for _, m := range sink.Messages() {
		per[m.To[0]]++
	}
	dupes := 0
	for email := range answered {
		switch n := per[email]; {
		case n == 0:
			t.Errorf("%s signed up and was answered, but never got the confirmation", email)
		case n > 1:
			dupes += n - 1
		}
	}
	t.Logf("%d confirmations delivered before the kill; %d duplicates after the restart", atKill, dupes)
	if dupes > workers {
		t.Errorf("%d duplicates, want at most %d (one per lane worker)", dupes, workers)
	}
	if t.Failed() {
		t.Logf("first run:\n%s\nsecond run:\n%s", logs.String(), logs2.String())
	}
}

// TestKillInsideAnImportBatchCountsEachRowOnce kills Herald while it writes
// one batch of a create-mode import in parts, and starts it again: the
// import goes on from the next part, so every row is created once and the
// counts say so, none skipped as already there.
func TestKillInsideAnImportBatchCountsEachRowOnce(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const rows = 300_000
	bin := herald(t)
	dir, st := ownedData(t, bakery)
	ctx := context.Background()
	var csv strings.Builder
	csv.WriteString("email,first_name\n")
	for i := range rows {
		// In no order of address, as real files come.
		fmt.Fprintf(&csv, "buyer%07d@example.com,Buyer\n", (i*7919)%rows)
	}
	file := filepath.Join(dir, "imports", "buyers.csv")
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	job, err := st.CreateImport(ctx, store.ImportJob{FileName: "buyers.csv", FilePath: file, FileSize: int64(csv.Len()), Headers: []string{"email", "first_name"},
		Delimiter: ",", Offset: int64(len("email,first_name\n")), Line: 2}, &store.ImportSetup{Mode: store.ImportCreate, Mapping: []string{"email", "first_name"}})
	if err != nil {
		t.Fatal(err)
	}

	cmd, exited, logs, _ := startHerald(t, bin, dir, "")
	waitFor(t, "a batch written in part", func() string {
		if j, err := st.Import(ctx, job.ID); err == nil && j.WindowDone >= 2 {
			return "parts"
		}
		return ""
	})
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	atKill, err := st.Import(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if atKill.WindowDone == 0 || atKill.Status != store.ImportRunning {
		t.Fatalf("killed at %+v: not inside a batch; the test proves nothing", atKill)
	}

	cmd, exited, logs2, _ := startHerald(t, bin, dir, "")
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	}()
	deadline := time.Now().Add(2 * time.Minute)
	var j store.ImportJob
	for {
		if j, err = st.Import(ctx, job.ID); err == nil && j.Status == store.ImportDone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the import did not finish: %+v %v\nfirst run:\n%s\nsecond run:\n%s", j, err, logs.String(), logs2.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("killed with %d parts of a batch written and %d created; at the end %+v", atKill.WindowDone, atKill.Created, j)
	if j.Total != rows || j.Created != rows || j.Skipped != 0 || j.Invalid != 0 {
		t.Errorf("counts: total %d created %d skipped %d invalid %d, want %d created", j.Total, j.Created, j.Skipped, j.Invalid, rows)
	}
	n, err := st.CountContacts(ctx, store.ContactFilter{})
	if err != nil || n != rows {
		t.Errorf("contacts: %d (%v), want %d", n, err, rows)
	}
}
