package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hitsFixture makes a campaign of n sends, to n contacts, with two links.
func hitsFixture(t *testing.T, s *Store, n int) (campaign int64, sends []int64, links [2]int64) {
	t.Helper()
	ctx := context.Background()
	c, err := s.CreateCampaign(ctx, CampaignInput{Name: new("News")})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		e := fmt.Sprintf("p%d.c%d@example.com", i, c.ID)
		contact, _, err := s.CreateContact(ctx, ContactInput{Email: &e, Source: "test"}, false)
		if err != nil {
			t.Fatal(err)
		}
		var send int64
		if err := s.w.QueryRowContext(ctx, `INSERT INTO sends (campaign_id, contact_id, email, status, updated_at, sent_at) VALUES (?, ?, ?, 'sent', 0, 0) RETURNING id`,
			c.ID, contact.ID, e).Scan(&send); err != nil {
			t.Fatal(err)
		}
		sends = append(sends, send)
	}
	for i, u := range []string{"https://shop.example/a", "https://shop.example/b"} {
		if links[i], err = s.LinkID(ctx, c.ID, 0, u); err != nil {
			t.Fatal(err)
		}
	}
	return c.ID, sends, links
}

// TestFoldAppliesAsOneByOne applies the same opens and clicks to two like
// campaigns, to one hit by hit and to the other in a single fold: repeated
// opens, clicks before any open, people and machines, two links. The
// counts of the campaign, of each send and of each link come out the same.
func TestFoldAppliesAsOneByOne(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	// No fold but those the test asks for.
	w := runHitWriter(t, s, func(w *HitWriter) { w.lag = time.Hour })
	const n = 12
	type campaign struct {
		id    int64
		sends []int64
		links [2]int64
	}
	var cs [2]campaign
	for i := range cs {
		cs[i].id, cs[i].sends, cs[i].links = hitsFixture(t, s, n)
	}
	// The same hits for each, the first's folded one by one.
	for k, c := range cs {
		r := rand.New(rand.NewPCG(1, 2))
		at := s.Now().Add(time.Hour)
		for range 400 {
			i, machine, link := r.IntN(n), r.IntN(4) == 0, r.IntN(3)
			h := Hit{Kind: ResultOpen, At: at, Machine: machine, CampaignID: c.id, SendID: c.sends[i]}
			if link < 2 {
				h.Kind, h.LinkID = ResultClick, c.links[link]
			}
			if err := w.Record(ctx, h); err != nil {
				t.Fatal(err)
			}
			if k == 0 {
				if err := w.Sync(ctx); err != nil {
					t.Fatal(err)
				}
			}
			at = at.Add(7 * time.Minute)
		}
	}
	if n, _ := s.PendingHits(ctx); n != 400 {
		t.Fatalf("%d hits wait for the fold, want the second campaign's 400", n)
	}
	if err := w.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	var got [2][]string
	for k, c := range cs {
		counts, err := s.CampaignCounts(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		got[k] = append(got[k], fmt.Sprintf("%+v", counts))
		for _, send := range c.sends {
			var row string
			s.r.QueryRowContext(ctx, `SELECT opens || ' ' || human_opens || ' ' || clicks || ' ' || human_clicks || ' ' || coalesce(opened_at, '-') || ' ' || coalesce(clicked_at, '-') ||
	' ' || (SELECT count(*) FROM events WHERE send_id = sends.id) FROM sends WHERE id = ?`, send).Scan(&row)
			got[k] = append(got[k], row)
		}
		for _, l := range c.links {
			var row string
			s.r.QueryRowContext(ctx, `SELECT clicks || ' ' || human_clicks || ' ' || unique_clicks || ' ' || unique_human_clicks FROM links WHERE id = ?`, l).Scan(&row)
			got[k] = append(got[k], row)
		}
	}
	if !reflect.DeepEqual(got[0], got[1]) {
		t.Errorf("hit by hit:\n%s\nin one fold:\n%s", strings.Join(got[0], "\n"), strings.Join(got[1], "\n"))
	}
	if !strings.Contains(got[0][0], "UniqueOpens:12") {
		t.Errorf("every send was opened or clicked, yet: %s", got[0][0])
	}
}

// TestHitLogFoldedAtStart leaves hits in the log as a crash after their
// answer would, and one whose send has since gone: the writer applies
// the first when it starts, skips the other, and empties the log.
func TestHitLogFoldedAtStart(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	campaign, sends, _ := hitsFixture(t, s, 3)
	at := s.Now()
	for _, send := range sends {
		h := Hit{Kind: ResultOpen, At: at, CampaignID: campaign, SendID: send}
		if _, err := s.w.ExecContext(ctx, `INSERT INTO hit_log (hit) VALUES (?)`, hitLine(h)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sends WHERE id = ?`, sends[2]); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.PendingHits(ctx); n != 3 {
		t.Fatalf("%d hits pending, want 3", n)
	}
	w := runHitWriter(t, s)
	if err := w.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	c, _ := s.CampaignCounts(ctx, campaign)
	if c.Opens != 2 || c.UniqueOpens != 2 {
		t.Errorf("after the start: %+v, want the 2 opens of the sends still there", c)
	}
	if n, _ := s.PendingHits(ctx); n != 0 {
		t.Errorf("%d hits still in the log", n)
	}
}

// TestFoldStatementsSeek checks that the set-based statements of a fold
// find each row by its key, not by reading the table.
func TestFoldStatementsSeek(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	tables := map[string]bool{"sends": true, "messages": true, "contacts": true}
	for _, q := range []string{preloadSends, saveSendCounts, saveMessageCounts, noteLastOpen, noteLastClick} {
		plan := queryPlan(t, s.w, q, "[]")
		for _, step := range plan {
			if f := strings.Fields(step); len(f) > 1 && f[0] == "SCAN" && tables[f[1]] {
				t.Errorf("%s\nreads a whole table: %s", q, strings.Join(plan, "; "))
			}
		}
	}
}

// queryPlan returns the steps of EXPLAIN QUERY PLAN for q.
func queryPlan(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return plan
}

// TestTimelineSumsUpOpens opens a campaign three times, once by a person:
// the contact's timeline says so in one entry, from the send, and the
// click is there as its own event.
func TestTimelineSumsUpOpens(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	w := runHitWriter(t, s)
	campaign, sends, links := hitsFixture(t, s, 1)
	at := s.Now().Add(time.Hour)
	for i, h := range []Hit{
		{Kind: ResultOpen, Machine: true, Detail: "image proxy"},
		{Kind: ResultOpen},
		{Kind: ResultOpen, Machine: true, Detail: "image proxy"},
		{Kind: ResultClick, LinkID: links[0]},
	} {
		h.At, h.CampaignID, h.SendID = at.Add(time.Duration(i)*time.Minute), campaign, sends[0]
		if err := recordNow(t, w, h); err != nil {
			t.Fatal(err)
		}
	}
	contact := contactOf(t, s, sends[0])
	evs, err := s.ContactEvents(ctx, contact, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Kind+": "+e.Detail)
	}
	want := []string{"click: Clicked https://shop.example/a in “News”", "open: Opened “News”, 3 times", "added: Added from test"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("timeline:\n got %q\nwant %q", got, want)
	}
	// An export lists each open.
	opens, err := s.ContactOpens(ctx, contact)
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, e := range opens {
		got = append(got, e.Detail)
	}
	want = []string{"Opened “News” (by a machine: image proxy)", "Opened “News”", "Opened “News” (by a machine: image proxy)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("opens:\n got %q\nwant %q", got, want)
	}
	if plan := strings.Join(queryPlan(t, s.r, contactOpens, contact), "; "); !strings.Contains(plan, "INDEX events_campaign_kind") {
		t.Errorf("a contact's opens: got %q, want a search of events_campaign_kind", plan)
	}
}

// TestStopAnswersEveryRecord stops the writer while hits pour in: every
// Record returns, and each one that returned nil is in the database.
func TestStopAnswersEveryRecord(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	campaign, sends, _ := hitsFixture(t, s, 1)
	w := s.NewHitWriter(func(err error) { t.Error(err) })
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- w.Run(runCtx) }()
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for range 40 {
				if w.Record(ctx, Hit{Kind: ResultOpen, At: s.Now(), CampaignID: campaign, SendID: sends[0]}) == nil {
					ok.Add(1)
				}
			}
		})
	}
	time.Sleep(5 * time.Millisecond)
	stop()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	c, _ := s.CampaignCounts(ctx, campaign)
	if int64(c.Opens) != ok.Load() {
		t.Errorf("%d hits recorded, %d counted", ok.Load(), c.Opens)
	}
	if err := w.Record(ctx, Hit{Kind: ResultOpen, At: s.Now(), CampaignID: campaign, SendID: sends[0]}); err == nil {
		t.Error("a hit after the stop was taken")
	}
}

// TestLateOpenKeepsNewerSoftBounce folds an open after soft bounces from
// before and after it: the run of soft bounces starts again from those
// after it, and an open after them all ends it.
func TestLateOpenKeepsNewerSoftBounce(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	w := runHitWriter(t, s)
	campaign, sends, _ := hitsFixture(t, s, 1)
	contact := contactOf(t, s, sends[0])
	opened := s.Now().Add(time.Hour)
	for _, at := range []time.Time{opened.Add(-2 * time.Minute), opened.Add(-time.Minute), opened.Add(time.Minute)} {
		if _, err := s.RecordFeedback(ctx, []Feedback{{Kind: ResultSoftBounce, At: at, CampaignID: campaign, SendID: sends[0], Detail: "mailbox-full: 452"}}, 5); err != nil {
			t.Fatal(err)
		}
	}
	softBounces := func() (n int) {
		s.r.QueryRowContext(ctx, `SELECT soft_bounces FROM contacts WHERE id = ?`, contact).Scan(&n)
		return n
	}
	if n := softBounces(); n != 3 {
		t.Fatalf("%d soft bounces in a row, want 3", n)
	}
	if err := recordNow(t, w, Hit{Kind: ResultOpen, At: opened, CampaignID: campaign, SendID: sends[0]}); err != nil {
		t.Fatal(err)
	}
	if n := softBounces(); n != 1 {
		t.Errorf("after an open between the bounces: %d soft bounces in a row, want the 1 after it", n)
	}
	if err := recordNow(t, w, Hit{Kind: ResultOpen, At: opened.Add(2 * time.Minute), CampaignID: campaign, SendID: sends[0]}); err != nil {
		t.Fatal(err)
	}
	if n := softBounces(); n != 0 {
		t.Errorf("after an open newer than every bounce: %d soft bounces in a row, want 0", n)
	}
}

// TestFoldGoesOnPastTrouble leaves an unreadable line in the log, and
// then a full disk: the writer starts all the same, reports both, drops
// the line, and applies the rest once there is room.
func TestFoldGoesOnPastTrouble(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	campaign, sends, _ := hitsFixture(t, s, 1)
	h := Hit{Kind: ResultOpen, At: s.Now(), CampaignID: campaign, SendID: sends[0]}
	// Enough opens that applying them needs new pages.
	const opens = 3000
	for _, q := range []string{
		`WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < ?2) INSERT INTO hit_log (hit) SELECT ?1 FROM i`,
		`INSERT INTO hit_log (hit) VALUES ('1 1796422116 open 0 1 1 0 0 0 0  zz')`,
		`INSERT INTO hit_log (hit) VALUES (?1)`,
	} {
		if _, err := s.w.ExecContext(ctx, q, hitLine(h), opens-1); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.LimitGrowth(ctx, 0); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var reported []string
	w := runHitWriter(t, s, func(w *HitWriter) {
		w.onError = func(err error) {
			mu.Lock()
			reported = append(reported, err.Error())
			mu.Unlock()
		}
	})
	if err := w.Sync(ctx); err == nil {
		mu.Lock()
		t.Fatalf("a fold on a full disk succeeded; reported %q", reported)
	}
	if err := s.LiftGrowthLimit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.CampaignCounts(ctx, campaign); c.Opens != opens {
		t.Errorf("%d opens counted, want the %d readable ones", c.Opens, opens)
	}
	if n, _ := s.PendingHits(ctx); n != 0 {
		t.Errorf("%d lines left in the log", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if all := strings.Join(reported, "\n"); !strings.Contains(all, "full") || !strings.Contains(all, "cannot be read was dropped") {
		t.Errorf("reported:\n%s\nwant the full disk and the dropped line", all)
	}
}

// contactOf returns the contact a send went to.
func contactOf(t *testing.T, s *Store, send int64) int64 {
	t.Helper()
	var contact int64
	if err := s.r.QueryRow(`SELECT contact_id FROM sends WHERE id = ?`, send).Scan(&contact); err != nil {
		t.Fatal(err)
	}
	return contact
}

// TestLongLogFoldedInBatches leaves more in the log than one fold takes:
// the writer folds it all by itself, batch after batch, answering a hit
// that arrives meanwhile.
func TestLongLogFoldedInBatches(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	campaign, sends, _ := hitsFixture(t, s, 1)
	h := Hit{Kind: ResultOpen, At: s.Now(), CampaignID: campaign, SendID: sends[0]}
	const logged = maxFold + 5
	if _, err := s.w.ExecContext(ctx, `WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < ?2)
INSERT INTO hit_log (hit) SELECT ?1 FROM i`, hitLine(h), logged); err != nil {
		t.Fatal(err)
	}
	w := runHitWriter(t, s)
	if err := w.Record(ctx, h); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		n, err := s.PendingHits(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d hits still in the log", n)
		}
	}
	if c, _ := s.CampaignCounts(ctx, campaign); c.Opens < logged {
		t.Errorf("%d opens counted, want at least the %d logged before the start", c.Opens, logged)
	}
}
