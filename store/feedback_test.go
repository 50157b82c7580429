package store

import (
	"context"
	"testing"
	"time"
)

// resultsFixture makes a contact and n campaigns that were each sent to
// them, and returns the contact and each campaign's send.
func resultsFixture(t *testing.T, s *Store, n int) (int64, [][2]int64) {
	t.Helper()
	ctx := context.Background()
	c, _, err := s.CreateContact(ctx, ContactInput{Email: new("ann@example.com"), Source: "test"}, false)
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]int64
	for range n {
		camp, err := s.CreateCampaign(ctx, CampaignInput{Name: new("News")})
		if err != nil {
			t.Fatal(err)
		}
		var send int64
		if err := s.w.QueryRowContext(ctx, `INSERT INTO sends (campaign_id, contact_id, email, status, updated_at, sent_at) VALUES (?, ?, ?, 'sent', 0, 0) RETURNING id`,
			camp.ID, c.ID, c.Email).Scan(&send); err != nil {
			t.Fatal(err)
		}
		out = append(out, [2]int64{camp.ID, send})
	}
	return c.ID, out
}

// TestSoftBouncesInARow bounces one address softly across campaigns: a
// delivery starts the count again, and the third in a row makes the
// contact bounced and suppresses the address.
func TestSoftBouncesInARow(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	contact, sends := resultsFixture(t, s, 5)
	soft := func(i int, key string) {
		t.Helper()
		if _, err := s.RecordFeedback(ctx, []Feedback{{Kind: ResultSoftBounce, At: s.Now(), CampaignID: sends[i][0], SendID: sends[i][1],
			Detail: "mailbox-full: 452 4.2.2 over quota", Key: key}}, 3); err != nil {
			t.Fatal(err)
		}
	}
	status := func() string {
		c, _ := s.Contact(ctx, contact)
		return c.Status
	}
	soft(0, "a")
	soft(1, "b")
	if _, err := s.RecordFeedback(ctx, []Feedback{{Kind: ResultDelivered, At: s.Now(), CampaignID: sends[2][0], SendID: sends[2][1]}}, 3); err != nil {
		t.Fatal(err)
	}
	soft(3, "c")
	soft(3, "c") // the same notification again counts once
	if got := status(); got != StatusActive {
		t.Fatalf("after two soft bounces, a delivery and one more: %q, want active", got)
	}
	soft(4, "d")
	soft(0, "e")
	if got := status(); got != StatusBounced {
		t.Errorf("after three soft bounces in a row: %q, want bounced", got)
	}
	if _, ok, _ := s.Suppressed(ctx, "ann@example.com"); !ok {
		t.Error("the address is not suppressed")
	}
	counts, _ := s.CampaignCounts(ctx, sends[3][0])
	if counts.SoftBounces != 1 {
		t.Errorf("campaign 4's soft bounces: got %d, want 1 (its notification came twice)", counts.SoftBounces)
	}
	if b, _ := s.CampaignBounces(ctx, sends[3][0]); len(b) != 1 || b[0].Category != "mailbox-full" || b[0].Count != 1 {
		t.Errorf("bounces by cause: got %+v", b)
	}
}

// TestHitsPrivacyAndOwnership records opens and clicks through the hit
// writer: privacy mode keeps counts and no record of who, and a hit on
// another campaign's link or on no send counts for nothing.
func TestHitsPrivacyAndOwnership(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	contact, sends := resultsFixture(t, s, 2)
	w := runHitWriter(t, s)
	link, err := s.LinkID(ctx, sends[0][0], 0, "https://shop.example/")
	if err != nil {
		t.Fatal(err)
	}
	at := s.Now().Add(time.Hour)
	for _, h := range []Hit{
		{Kind: ResultOpen, At: at, CampaignID: sends[0][0], SendID: sends[0][1], Private: true},
		{Kind: ResultClick, At: at, CampaignID: sends[0][0], SendID: sends[0][1], LinkID: link, Private: true},
	} {
		if err := recordNow(t, w, h); err != nil {
			t.Fatal(err)
		}
	}
	var opens, withWho int
	s.r.QueryRowContext(ctx, `SELECT opens + clicks FROM sends WHERE id = ?`, sends[0][1]).Scan(&opens)
	s.r.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE contact_id IS NOT NULL OR send_id IS NOT NULL`).Scan(&withWho)
	if opens != 0 || withWho != 0 {
		t.Errorf("privacy mode left a record of who: the send counts %d, %d events name someone", opens, withWho)
	}
	c, _ := s.CampaignCounts(ctx, sends[0][0])
	if c.Opens != 1 || c.Clicks != 1 || c.UniqueOpens != 0 {
		t.Errorf("privacy mode counts: got %+v, want an open and a click, none unique", c)
	}
	if got, _ := s.Contact(ctx, contact); !got.LastOpen.IsZero() {
		t.Errorf("privacy mode set the contact's last open: %v", got.LastOpen)
	}
	for name, h := range map[string]Hit{
		"another campaign's link":    {Kind: ResultClick, At: at, CampaignID: sends[1][0], SendID: sends[1][1], LinkID: link},
		"a send of another campaign": {Kind: ResultOpen, At: at, CampaignID: sends[1][0], SendID: sends[0][1]},
		"no send":                    {Kind: ResultOpen, At: at, CampaignID: sends[0][0], SendID: 999},
	} {
		before, _ := s.CampaignCounts(ctx, h.CampaignID)
		if err := recordNow(t, w, h); err != nil {
			t.Fatal(err)
		}
		if after, _ := s.CampaignCounts(ctx, h.CampaignID); after != before {
			t.Errorf("%s counted: %+v, then %+v", name, before, after)
		}
	}
	if n, _ := s.PendingHits(ctx); n != 0 {
		t.Errorf("%d hits left in the log", n)
	}
	// A person's open is recorded, with the contact's last open.
	if err := recordNow(t, w, Hit{Kind: ResultOpen, At: at, CampaignID: sends[1][0], SendID: sends[1][1]}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Contact(ctx, contact); !got.LastOpen.Equal(at.Truncate(time.Second)) {
		t.Errorf("last open: got %v, want %v", got.LastOpen, at)
	}
}

// TestClickWithOpensOff checks that a click on a message that tracks no
// opens is not taken for an open.
func TestClickWithOpensOff(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	contact, sends := resultsFixture(t, s, 1)
	w := runHitWriter(t, s)
	link, _ := s.LinkID(ctx, sends[0][0], 0, "https://shop.example/")
	if err := recordNow(t, w, Hit{Kind: ResultClick, At: s.Now(), CampaignID: sends[0][0], SendID: sends[0][1], LinkID: link, OpensOff: true}); err != nil {
		t.Fatal(err)
	}
	c, _ := s.CampaignCounts(ctx, sends[0][0])
	if c.Clicks != 1 || c.UniqueHumanClicks != 1 || c.Opens != 0 || c.UniqueOpens != 0 {
		t.Errorf("counts: got %+v, want a click and no open", c)
	}
	if got, _ := s.Contact(ctx, contact); !got.LastOpen.IsZero() || got.LastClick.IsZero() {
		t.Errorf("contact: last open %v, last click %v; want no open and a click", got.LastOpen, got.LastClick)
	}
}

// TestFeedbackSeenIsPruned checks that a notification is counted once while
// remembered, and forgotten by housekeeping after its time.
func TestFeedbackSeenIsPruned(t *testing.T) {
	t.Parallel()
	s, clock := openTestStore(t)
	ctx := context.Background()
	_, sends := resultsFixture(t, s, 1)
	deliver := func() int {
		n, err := s.RecordFeedback(ctx, []Feedback{{Kind: ResultDelayed, At: s.Now(), CampaignID: sends[0][0], SendID: sends[0][1], Key: "ses:1"}}, 3)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if a, b := deliver(), deliver(); a != 1 || b != 0 {
		t.Fatalf("the same notification twice: %d then %d new, want 1 then 0", a, b)
	}
	clock.advance(31 * 24 * time.Hour)
	if err := s.PruneFeedbackSeen(ctx, s.Now().Add(-30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := deliver(); n != 1 {
		t.Errorf("after pruning: %d new, want the notification taken again", n)
	}
	if ok, _ := s.ClaimSignature(ctx, "mailgun", "tok", "aa"); !ok {
		t.Error("a first signature was refused")
	}
	if ok, _ := s.ClaimSignature(ctx, "mailgun", "tok", "aa"); !ok {
		t.Error("the same signature and body again (a retry) was refused")
	}
	if ok, _ := s.ClaimSignature(ctx, "mailgun", "tok", "bb"); ok {
		t.Error("the same signature with another body was taken")
	}
}

// TestRefusedIsNotSent checks that a hard bounce the relay gave while being
// handed the message is not taken off what was delivered, since it was
// never sent, while a bounce reported later is.
func TestRefusedIsNotSent(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	_, sends := resultsFixture(t, s, 1)
	c, _, _ := s.CreateContact(ctx, ContactInput{Email: new("bob@example.com"), Source: "test"}, false)
	var refused int64
	if err := s.w.QueryRowContext(ctx, `INSERT INTO sends (campaign_id, contact_id, email, status, updated_at) VALUES (?, ?, ?, 'sending', 0) RETURNING id`,
		sends[0][0], c.ID, c.Email).Scan(&refused); err != nil {
		t.Fatal(err)
	}
	campaign := sends[0][0]
	if _, err := s.w.ExecContext(ctx, `UPDATE sends SET status = 'sending' WHERE id = ?`, sends[0][1]); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordOutcomes(ctx, []Outcome{{SendID: sends[0][1], Status: SendSent, Code: 250},
		{SendID: refused, Status: SendFailed, Code: 550, Response: "550 5.1.1 no such user", HardBounce: true}}); err != nil {
		t.Fatal(err)
	}
	n, _ := s.CampaignCounts(ctx, campaign)
	if n.Sent != 1 || n.HardBounces != 1 || n.Refused != 1 || n.DeliveredCount() != 1 || RatesOf(n, false).Bounce != 0.5 {
		t.Errorf("after one sent and one refused: %+v, delivered %d, bounce rate %v; want 1 sent, 1 refused, 1 delivered, 50%%",
			n, n.DeliveredCount(), RatesOf(n, false).Bounce)
	}
	if _, err := s.RecordFeedback(ctx, []Feedback{{Kind: ResultHardBounce, At: s.Now(), CampaignID: campaign, SendID: sends[0][1], Detail: "user-unknown: gone"}}, 3); err != nil {
		t.Fatal(err)
	}
	n, _ = s.CampaignCounts(ctx, campaign)
	if n.DeliveredCount() != 0 || RatesOf(n, false).Bounce != 1 {
		t.Errorf("after the sent one bounced later: delivered %d, bounce rate %v; want 0 and 100%%", n.DeliveredCount(), RatesOf(n, false).Bounce)
	}
}

// runHitWriter runs the store's hit writer until the test ends; adjust,
// if given, changes it before it starts.
func runHitWriter(t *testing.T, s *Store, adjust ...func(*HitWriter)) *HitWriter {
	w := s.NewHitWriter(func(err error) { t.Errorf("hit writer: %v", err) })
	for _, f := range adjust {
		f(w)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("hit writer: %v", err)
		}
	})
	return w
}

// recordNow records a hit and folds the log, as the writer does a moment
// later by itself.
func recordNow(t *testing.T, w *HitWriter, h Hit) error {
	t.Helper()
	if err := w.Record(context.Background(), h); err != nil {
		return err
	}
	if err := w.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	return nil
}

// TestFeedbackOnAMessageToSeveral judges a report on a message sent to
// several by the recipient it names: a bounce from the Cc suppresses that
// contact, not the first To's.
func TestFeedbackOnAMessageToSeveral(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	var ids []int64
	for _, email := range []string{"ann@example.com", "cy@example.com"} {
		c, _, err := s.CreateContact(ctx, ContactInput{Email: &email, Source: "test"}, false)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	m, _, err := s.CreateMessage(ctx, NewMessage{Message: Message{ToEmail: "ann@example.com", FromEmail: "shop@example.com", Subject: "Receipt", Text: "Thanks",
		Recipients: Recipients{Cc: []Address{{Name: "Cy", Email: "cy@example.com"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordFeedback(ctx, []Feedback{{Kind: ResultHardBounce, At: s.Now(), MessageID: m.ID, Recipient: "CY@example.com", Detail: "user-unknown", Key: "k1"}}, 0); err != nil {
		t.Fatal(err)
	}
	ann, _ := s.Contact(ctx, ids[0])
	cy, _ := s.Contact(ctx, ids[1])
	if ann.Status != StatusActive || cy.Status != StatusBounced {
		t.Errorf("after a bounce from the Cc: ann %s, cy %s; want active and bounced", ann.Status, cy.Status)
	}
	if _, err := s.RecordFeedback(ctx, []Feedback{{Kind: ResultComplaint, At: s.Now(), MessageID: m.ID, Recipient: "stranger@example.com", Key: "k2"}}, 0); err != nil {
		t.Fatal(err)
	}
	if ann, _ = s.Contact(ctx, ids[0]); ann.Status != StatusActive {
		t.Errorf("a report naming someone a message to several did not go to: ann is %s, want active", ann.Status)
	}
	// On a message to one, a report naming another address (a forward, an
	// alias) holds against its recipient.
	one, _, err := s.CreateMessage(ctx, NewMessage{Message: Message{ToEmail: "ann@example.com", FromEmail: "shop@example.com", Subject: "Receipt", Text: "Thanks"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordFeedback(ctx, []Feedback{{Kind: ResultComplaint, At: s.Now(), MessageID: one.ID, Recipient: "ann.alias@example.com", Key: "k3"}}, 0); err != nil {
		t.Fatal(err)
	}
	if ann, _ = s.Contact(ctx, ids[0]); ann.Status != StatusComplained {
		t.Errorf("a report on a message to one: ann is %s, want complained", ann.Status)
	}
}
