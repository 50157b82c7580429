package outbound

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"herald/mailer"
	"herald/mailer/smtptest"
	"herald/store"
)

// dispatchFixture is a store with n contacts on one list and a campaign to
// them, started with frozen content, and a relay pointing at srv when srv
// is not nil.
func dispatchFixture(t *testing.T, srv *smtptest.Server, emails []string) (*store.Store, *Dispatcher, store.Campaign) {
	t.Helper()
	ctx := context.Background()
	st := testStore(t)
	name := "News"
	l, err := st.CreateList(ctx, store.ListInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range emails {
		first := fmt.Sprintf("Person%d", i)
		if _, _, err := st.CreateContact(ctx, store.ContactInput{Email: &e, FirstName: &first, Lists: []int64{l.ID}, Source: "test"}, false); err != nil {
			t.Fatal(err)
		}
	}
	if srv != nil {
		sink(t, st, srv, 3)
	}
	if _, err := st.SaveGeneral(ctx, store.General{OrgName: "Bakery", PostalAddress: "1 Mill Lane", BaseURL: "https://news.example"}); err != nil {
		t.Fatal(err)
	}
	c, err := st.CreateCampaign(ctx, store.CampaignInput{Name: &name, ListIDs: &[]int64{l.ID}})
	if err != nil {
		t.Fatal(err)
	}
	content := mailer.Content{
		Name:      "May news",
		Source:    mailer.Source{Subject: "News for {{.Contact.FirstName}}", Format: mailer.FormatMarkdown, Body: "Hello **{{.Contact.FirstName}}**.", Layout: mailer.DefaultLayout},
		FromName:  "Bakery",
		FromEmail: "news@bakery.example",
		ReplyTo:   "hello@bakery.example",
		ListName:  "News", ListID: "news.bakery.example",
	}
	b, _ := json.Marshal(content)
	if c, err = st.StartCampaign(ctx, c.ID, string(b)); err != nil {
		t.Fatal(err)
	}
	d := newService(t, st).Dispatcher()
	return st, d, c
}

func TestDispatcherSendsACampaignOnceToEveryone(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	greylisted := map[string]bool{}
	srv := smtptest.Start(t, smtptest.Options{RejectRcpt: func(to string) error {
		switch {
		case to == "gone@example.com":
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		case to == "spam@example.com":
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "rejected as spam"}
		case strings.HasPrefix(to, "grey"):
			mu.Lock()
			defer mu.Unlock()
			if !greylisted[to] {
				greylisted[to] = true
				return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "greylisted, try again"}
			}
		}
		return nil
	}})
	var emails []string
	for i := range 120 {
		emails = append(emails, fmt.Sprintf("p%03d@example.com", i))
	}
	emails = append(emails, "gone@example.com", "spam@example.com", "grey1@example.com", "grey2@example.com")
	st, d, c := dispatchFixture(t, srv, emails)
	ctx := t.Context()

	// The first run sends all it can; the greylisted pair wait for a retry.
	clock := setClock(st)
	if err := d.runCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	counts, _ := st.SendCounts(ctx, c.ID)
	if counts[store.SendSent] != 120 || counts[store.SendFailed] != 2 || counts[store.SendRetrying] != 2 {
		t.Fatalf("after the first run: got %v, want 120 sent, 2 failed, 2 retrying", counts)
	}
	// The retries fall due, after 0.8 to 1.2 s stored to the second, and
	// go through on the next run.
	clock.Advance(2300 * time.Millisecond)
	if err := d.runCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	counts, _ = st.SendCounts(ctx, c.ID)
	if counts[store.SendSent] != 122 || counts[store.SendFailed] != 2 || len(counts) != 2 {
		t.Fatalf("after the retry: got %v, want 122 sent and 2 failed", counts)
	}
	got, _ := st.Campaign(ctx, c.ID)
	if got.Status != store.CampaignSent {
		t.Errorf("campaign status: got %s, want sent", got.Status)
	}

	// Everyone got exactly one message, over at most 3 connections.
	msgs := srv.Messages()
	per := map[string]int{}
	for _, m := range msgs {
		per[strings.Join(m.To, ",")]++
	}
	for _, e := range emails {
		want := 1
		if e == "gone@example.com" || e == "spam@example.com" {
			want = 0
		}
		if per[e] != want {
			t.Errorf("%s: got %d messages, want %d", e, per[e], want)
		}
	}
	if _, peak := srv.Connections(); peak > 3 {
		t.Errorf("connections at once: got %d, want at most 3", peak)
	}

	// The hard bounce suppressed the address; the spam refusal did not.
	if _, ok, _ := st.Suppressed(ctx, "gone@example.com"); !ok {
		t.Error("gone@example.com: not suppressed after 550 5.1.1")
	}
	if _, ok, _ := st.Suppressed(ctx, "spam@example.com"); ok {
		t.Error("spam@example.com: suppressed after a 5.7.1 refusal")
	}

	// Resending to the failed: the hard bounce stays failed, the refusal
	// is tried again (and refused again), and the campaign finishes again.
	if n, err := st.ResendFailed(ctx, c.ID); err != nil || n != 1 {
		t.Fatalf("resend failed: got %d, %v; want 1 (spam@, not the bounced address)", n, err)
	}
	if got, _ := st.Campaign(ctx, c.ID); got.Status != store.CampaignSending {
		t.Errorf("after resend: got %s, want sending", got.Status)
	}
	if err := d.runCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Campaign(ctx, c.ID); got.Status != store.CampaignSent {
		t.Errorf("after the resend run: got %s, want sent", got.Status)
	}
	if sends, _, _ := st.CampaignSends(ctx, c.ID, store.SendFailed, store.Order{}, 10, 0); len(sends) != 2 || sends[1].Attempts != 2 && sends[0].Attempts != 2 {
		t.Errorf("failed after resend: got %+v, want 2, the refused one with 2 attempts", sends)
	}

	// One message, parsed back: rendered for its recipient, with the list
	// headers and a Message-ID made from its send row.
	var first smtptest.Message
	for _, m := range msgs {
		if m.To[0] == "p007@example.com" {
			first = m
		}
	}
	pm, err := mail.ReadMessage(bytes.NewReader(first.Data))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"Subject":               "News for Person7",
		"From":                  `"Bakery" <news@bakery.example>`,
		"Reply-To":              "<hello@bakery.example>",
		"List-Id":               `"News" <news.bakery.example>`,
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"Feedback-Id":           fmt.Sprintf("%d:herald", c.ID),
	} {
		if got := pm.Header.Get(k); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	unsub := regexp.MustCompile(`<https://news\.example/u/([^>]+)>`).FindStringSubmatch(pm.Header.Get("List-Unsubscribe"))
	if unsub == nil {
		t.Fatalf("List-Unsubscribe: got %q", pm.Header.Get("List-Unsubscribe"))
	}
	p7, _ := st.ContactByEmail(ctx, "p007@example.com")
	if tok, err := st.Box().VerifyToken(unsub[1], store.PurposeUnsubscribe, time.Now()); err != nil || tok.ContactID != p7.ID {
		t.Errorf("List-Unsubscribe: token for contact %d (%v), want %d", tok.ContactID, err, p7.ID)
	}
	if id := pm.Header.Get("Message-Id"); !strings.HasPrefix(id, fmt.Sprintf("<c%d.s", c.ID)) || !strings.HasSuffix(id, "@bakery.example>") {
		t.Errorf("Message-ID: got %q, want one made from the campaign and send", id)
	}
	_, params, _ := mime.ParseMediaType(pm.Header.Get("Content-Type"))
	mr := multipart.NewReader(pm.Body, params["boundary"])
	var parts []string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(p)
		parts = append(parts, p.Header.Get("Content-Type")+"\n"+string(b))
	}
	if len(parts) != 2 || !strings.Contains(parts[0], "Hello Person7.") || !strings.Contains(parts[1], "<strong>Person7</strong>") || !strings.Contains(parts[1], "1 Mill Lane") {
		t.Errorf("parts: got %q", parts)
	}
}

func TestDispatcherStopsCleanlyAndResumesWithoutDuplicates(t *testing.T) {
	t.Parallel()
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	var mu sync.Mutex
	accepted := 0
	srv := smtptest.Start(t, smtptest.Options{RejectRcpt: func(string) error {
		mu.Lock()
		defer mu.Unlock()
		if accepted++; accepted == 40 {
			stop() // shut down while the campaign is going
		}
		return nil
	}})
	var emails []string
	for i := range 300 {
		emails = append(emails, fmt.Sprintf("r%03d@example.com", i))
	}
	st, d, c := dispatchFixture(t, srv, emails)

	if err := d.runCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	counts, _ := st.SendCounts(t.Context(), c.ID)
	if counts[store.SendSending] != 0 || counts[store.SendRetrying] != 0 || counts[store.SendFailed] != 0 ||
		counts[store.SendSent]+counts[store.SendQueued] != 300 || counts[store.SendQueued] == 0 {
		t.Fatalf("after stopping: got %v, want only sent and queued, nothing in flight or failed", counts)
	}
	if got := len(srv.Messages()); got != counts[store.SendSent] {
		t.Errorf("delivered %d, recorded %d as sent", got, counts[store.SendSent])
	}

	if err := d.runCampaign(t.Context(), c.ID); err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, m := range srv.Messages() {
		per[m.To[0]]++
	}
	for _, e := range emails {
		if per[e] != 1 {
			t.Errorf("%s: got %d messages, want 1", e, per[e])
		}
	}
	if got, _ := st.Campaign(t.Context(), c.ID); got.Status != store.CampaignSent {
		t.Errorf("status after resuming: got %s, want sent", got.Status)
	}
}

func TestDispatcherPauseResumeAndCancel(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	var st *store.Store
	var campaignID int64
	var mu sync.Mutex
	accepted, pauseAt := 0, 60
	srv := smtptest.Start(t, smtptest.Options{RejectRcpt: func(string) error {
		mu.Lock()
		defer mu.Unlock()
		if accepted++; accepted == pauseAt {
			if _, err := st.ChangeCampaign(ctx, campaignID, store.ActionPause); err != nil {
				t.Errorf("pause: %v", err)
			}
		}
		return nil
	}})
	var emails []string
	for i := range 400 {
		emails = append(emails, fmt.Sprintf("q%03d@example.com", i))
	}
	st, d, c := dispatchFixture(t, srv, emails)
	campaignID = c.ID

	// Paused mid-way: the run stops, messages in flight finish and are
	// recorded, and nothing is left in flight.
	if err := d.runCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	counts, _ := st.SendCounts(ctx, c.ID)
	paused := counts[store.SendSent]
	if counts[store.SendSending] != 0 || paused < pauseAt || paused >= 400 || paused+counts[store.SendQueued] != 400 {
		t.Fatalf("after pausing: got %v, want some sent, the rest queued, none in flight", counts)
	}
	// A run while paused sends nothing.
	if err := d.runCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Messages()); n != paused {
		t.Errorf("while paused: %d delivered, want still %d", n, paused)
	}

	// Resumed: the rest go, everyone once.
	mu.Lock()
	pauseAt = -1
	mu.Unlock()
	if _, err := st.ChangeCampaign(ctx, c.ID, store.ActionResume); err != nil {
		t.Fatal(err)
	}
	if err := d.runCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, m := range srv.Messages() {
		per[m.To[0]]++
	}
	for _, e := range emails {
		if per[e] != 1 {
			t.Fatalf("%s: got %d messages, want 1", e, per[e])
		}
	}

	// Cancelling another campaign mid-way drops the rest for good.
	c2, err := st.CreateCampaign(ctx, store.CampaignInput{Name: new("Second"), ListIDs: &c.ListIDs})
	if err != nil {
		t.Fatal(err)
	}
	frozen, _ := st.CampaignFrozen(ctx, c.ID)
	if _, err := st.StartCampaign(ctx, c2.ID, frozen); err != nil {
		t.Fatal(err)
	}
	a, _ := st.CampaignAudience(ctx, c2)
	if _, err := st.Materialise(ctx, c2.ID, a); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ChangeCampaign(ctx, c2.ID, store.ActionCancel); err != nil {
		t.Fatal(err)
	}
	before := len(srv.Messages())
	if err := d.runCampaign(ctx, c2.ID); err != nil {
		t.Fatal(err)
	}
	counts, _ = st.SendCounts(ctx, c2.ID)
	if len(srv.Messages()) != before || counts[store.SendCancelled] != 400 {
		t.Errorf("cancelled campaign: %d more delivered, counts %v; want none sent and 400 cancelled", len(srv.Messages())-before, counts)
	}
}

// sink stores an enabled relay to the loopback server srv.
func sink(t testing.TB, st *store.Store, srv *smtptest.Server, conns int) store.Relay {
	t.Helper()
	r, err := st.CreateRelay(context.Background(), store.RelayInput{Name: fmt.Sprintf("Sink %d", srv.Port()), Kind: store.RelaySMTP, Host: srv.Host(), Port: srv.Port(),
		TLS: store.TLSNone, MaxConnections: conns, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPausedCampaignQueueSendsNothing: with the campaigns queue paused, a
// sending campaign's run sends nothing and stays sending; resumed, it
// sends to everyone.
func TestPausedCampaignQueueSendsNothing(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	st, d, c := dispatchFixture(t, srv, []string{"a@example.com", "b@example.com", "c@example.com"})
	ctx := t.Context()
	if _, err := st.PauseQueue(ctx, store.QueueCampaigns, true, "owner@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := d.sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.runCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	d.wg.Wait()
	if got, _ := st.Campaign(ctx, c.ID); srv.Count() != 0 || got.Status != store.CampaignSending {
		t.Fatalf("paused: %d sent, campaign %s; want none, still sending", srv.Count(), got.Status)
	}
	if _, err := st.PauseQueue(ctx, store.QueueCampaigns, false, ""); err != nil {
		t.Fatal(err)
	}
	if err := d.runCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Campaign(ctx, c.ID); srv.Count() != 3 || got.Status != store.CampaignSent {
		t.Errorf("resumed: %d sent, campaign %s; want 3, sent", srv.Count(), got.Status)
	}
}

// sendWhileWriting runs a campaign to n contacts whose audience is written
// one contact a step, n transactions, calling atFirst when the relay gets
// its first message.
func sendWhileWriting(t *testing.T, n int, atFirst func(st *store.Store, campaign int64)) (*store.Store, store.Campaign, *smtptest.Server) {
	var st *store.Store
	var campaign int64
	var once sync.Once
	srv := smtptest.Start(t, smtptest.Options{RejectRcpt: func(to string) error {
		once.Do(func() { atFirst(st, campaign) })
		return nil
	}})
	var emails []string
	for i := range n {
		emails = append(emails, fmt.Sprintf("p%03d@example.com", i))
	}
	st, d, c := dispatchFixture(t, srv, emails)
	campaign = c.ID
	d.audienceSteps = [2]int64{1, 1}
	if err := d.runCampaign(t.Context(), c.ID); err != nil {
		t.Fatal(err)
	}
	return st, c, srv
}

// TestDispatcherSendsWhileTheAudienceIsWritten: the first messages leave
// before the whole audience is in the outbox, and still everyone gets one
// message and the campaign ends sent with all its recipients counted.
func TestDispatcherSendsWhileTheAudienceIsWritten(t *testing.T) {
	t.Parallel()
	const n = 400
	writtenAtFirst := make(chan bool, 1)
	st, c, srv := sendWhileWriting(t, n, func(st *store.Store, campaign int64) {
		c, err := st.Campaign(context.Background(), campaign)
		writtenAtFirst <- err == nil && c.Materialised
	})
	if <-writtenAtFirst {
		t.Error("the first message left once the whole audience was written, want while it was written")
	}
	got, err := st.Campaign(t.Context(), c.ID)
	if err != nil || got.Status != store.CampaignSent || got.Recipients != n || !got.Materialised {
		t.Fatalf("campaign: %+v (%v), want sent to %d, its audience all written", got, err, n)
	}
	per := map[string]int{}
	for _, m := range srv.Messages() {
		per[strings.Join(m.To, ",")]++
	}
	for i := range n {
		if e := fmt.Sprintf("p%03d@example.com", i); per[e] != 1 {
			t.Errorf("%s got %d messages, want 1", e, per[e])
		}
	}
}

// TestDispatcherCancelWhileTheAudienceIsWritten: a campaign cancelled while
// its audience is still being written gets no more of it written, so no
// send is left queued in a cancelled campaign.
func TestDispatcherCancelWhileTheAudienceIsWritten(t *testing.T) {
	t.Parallel()
	const n = 300
	st, c, _ := sendWhileWriting(t, n, func(st *store.Store, campaign int64) {
		if _, err := st.ChangeCampaign(context.Background(), campaign, store.ActionCancel); err != nil {
			t.Error(err)
		}
	})
	got, err := st.Campaign(t.Context(), c.ID)
	if err != nil || got.Status != store.CampaignCancelled {
		t.Fatalf("campaign: %s (%v), want cancelled", got.Status, err)
	}
	if got.Recipients >= n {
		t.Fatalf("%d recipients written: the whole audience was written before the cancel; the test proves nothing", got.Recipients)
	}
	counts, _ := st.SendCounts(t.Context(), c.ID)
	if counts[store.SendQueued] != 0 || counts[store.SendSending] != 0 {
		t.Errorf("sends after the cancel: %v, want none queued or sending", counts)
	}
}
