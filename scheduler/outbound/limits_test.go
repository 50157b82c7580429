package outbound

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"

	"herald/mailer"
	"herald/mailer/ses"
	"herald/mailer/smtptest"
	"herald/store"
)

func TestWarmupCapGrowsToTheQuota(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ start, quota, days, k, want int }{
		{100, 10000, 10, 0, 100},
		{100, 10000, 10, 5, 1000},
		{100, 10000, 10, 10, 10000},
		{50, 0, 5, 0, 50},
		{50, 0, 5, 3, 400},
	} {
		if got := warmupCap(tc.start, tc.quota, tc.days, tc.k); got != tc.want {
			t.Errorf("warmupCap(%d, %d, %d, day %d) = %d, want %d", tc.start, tc.quota, tc.days, tc.k, got, tc.want)
		}
	}
}

// TestRelayPaceSpacesMessages reserves messages on a relay of 50 a second
// at one instant: each waits 20 ms longer than the one before.
func TestRelayPaceSpacesMessages(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	g := newGates(st)
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	g.now = func() time.Time { return now }
	rg := g.relay(store.Relay{ID: 1, Name: "Paced", RatePerSecond: 50})
	for i := range 4 {
		wait, err := g.reserve(context.Background(), rg)
		if want := time.Duration(i) * 20 * time.Millisecond; err != nil || wait != want {
			t.Errorf("message %d: wait %v, %v; want %v", i, wait, err, want)
		}
	}
	// An SES account allowing fewer a second sets the pace.
	if err := g.useSESQuota(context.Background(), rg, ses.Quota{MaxPerSecond: 10, SendingEnabled: true}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	if wait, _ := g.reserve(context.Background(), rg); wait != 0 {
		t.Errorf("after a pause: wait %v, want 0", wait)
	}
	if wait, _ := g.reserve(context.Background(), rg); wait != 100*time.Millisecond {
		t.Errorf("at the SES rate: wait %v, want 100ms", wait)
	}
}

// TestDailyQuotaHoldsTheCampaignAcrossRestarts sends a campaign of 8
// through a relay allowed 5 a day: 5 go, the rest wait for tomorrow with
// the reason on the campaign, and a new dispatcher, as after a restart,
// still counts the 5.
func TestDailyQuotaHoldsTheCampaignAcrossRestarts(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	var emails []string
	for i := range 8 {
		emails = append(emails, fmt.Sprintf("q%d@example.com", i))
	}
	st, d, c := dispatchFixture(t, srv, emails)
	ctx := context.Background()
	r := relayOf(t, st)
	in := r.InputOf()
	in.DailyQuota = 5
	if _, err := st.UpdateRelay(ctx, r.ID, in); err != nil {
		t.Fatal(err)
	}
	if err := d.runCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if n := srv.Count(); n != 5 {
		t.Fatalf("delivered %d, want the quota of 5", n)
	}
	got, _ := st.Campaign(ctx, c.ID)
	tomorrow := time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	if got.Status != store.CampaignSending || !strings.Contains(got.HeldReason, "daily quota (5 messages)") || !got.HeldUntil.Equal(tomorrow) {
		t.Fatalf("held campaign: %s %q until %v, want sending, held for the daily quota until %v", got.Status, got.HeldReason, got.HeldUntil, tomorrow)
	}
	waiting, _, _ := st.CampaignSends(ctx, c.ID, store.SendQueued, store.Order{}, 10, 0)
	if len(waiting) != 3 || waiting[0].Attempts != 0 {
		t.Errorf("waiting sends: %+v, want 3 untried in the queue", waiting)
	}

	restarted := newService(t, st).Dispatcher()
	if err := restarted.runCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if n := srv.Count(); n != 5 {
		t.Errorf("after a restart: delivered %d, want still 5", n)
	}

	// Raising the quota lets the rest go at the next run, not tomorrow.
	in.DailyQuota = 10
	if _, err := st.UpdateRelay(ctx, r.ID, in); err != nil {
		t.Fatal(err)
	}
	if err := restarted.runCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Campaign(ctx, c.ID); srv.Count() != 8 || got.Status != store.CampaignSent || got.HeldReason != "" {
		t.Errorf("after raising the quota: delivered %d, campaign %s held %q; want 8, sent, not held", srv.Count(), got.Status, got.HeldReason)
	}
}

// TestDomainLimitHoldsBackOnlyThatDomain caps gmail.com at 3 an hour: the
// other domain's mail all goes, two gmail.com messages wait for the next
// hour, untried, with the reason.
func TestDomainLimitHoldsBackOnlyThatDomain(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	emails := []string{"a@gmail.com", "b@gmail.com", "c@gmail.com", "d@gmail.com", "e@gmail.com", "f@example.com", "g@example.com"}
	st, d, c := dispatchFixture(t, srv, emails)
	ctx := context.Background()
	if _, err := st.SaveGeneral(ctx, store.General{DomainLimits: []store.DomainLimit{{Domain: "gmail.com", PerHour: 3}}}); err != nil {
		t.Fatal(err)
	}
	if err := d.runCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	gmail, other := 0, 0
	for _, m := range srv.Messages() {
		if strings.HasSuffix(m.To[0], "@gmail.com") {
			gmail++
		} else {
			other++
		}
	}
	if gmail != 3 || other != 2 {
		t.Errorf("delivered %d to gmail.com and %d elsewhere, want 3 and 2", gmail, other)
	}
	waiting, _, _ := st.CampaignSends(ctx, c.ID, store.SendQueued, store.Order{}, 10, 0)
	nextHour := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	if len(waiting) != 2 || !strings.Contains(waiting[0].LastResponse, "gmail.com takes 3 messages an hour") || waiting[0].NextAttempt.Before(nextHour) {
		t.Errorf("held back: %+v", waiting)
	}
	if n, _ := st.Usage(ctx, store.Counter{Scope: "domain:gmail.com", Window: time.Now().UTC().Truncate(time.Hour)}); n != 3 {
		t.Errorf("gmail.com usage: %d, want 3", n)
	}
}

// TestFallsOverWhenTheRelayIsDown names a relay nobody listens on; the
// next enabled relay takes every message.
func TestFallsOverWhenTheRelayIsDown(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	st, d, _ := dispatchFixture(t, srv, []string{"x@example.com", "y@example.com", "z@example.com"})
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dead, err := st.CreateRelay(ctx, store.RelayInput{Name: "Dead", Kind: store.RelaySMTP, Host: "127.0.0.1", Port: deadPort, TLS: store.TLSNone, MaxConnections: 2, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := d.openRoute(ctx, dead.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if rt.relays[0].ID != dead.ID || len(rt.relays) != 2 {
		t.Fatalf("route: %+v", rt.relays)
	}
	for _, to := range []string{"x@example.com", "y@example.com"} {
		_, used, err := rt.Deliver(ctx, nil, "news@example.com", to, []byte("Subject: hi\r\n\r\nhello\r\n"))
		if err != nil || used.ID == dead.ID {
			t.Fatalf("deliver to %s: through %q, %v; want the live relay", to, used.Name, err)
		}
	}
	if n := srv.Count(); n != 2 {
		t.Errorf("the live relay received %d, want 2", n)
	}
}

// TestCampaignPausesItselfOnBounces sends to 600 people of whom 1 in 12
// do not exist: past 500 messages the bounce rate is over 5%, so the
// campaign pauses itself, says why, and tells the owners once.
func TestCampaignPausesItselfOnBounces(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{RejectRcpt: func(to string) error {
		if strings.HasPrefix(to, "gone") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}})
	var emails []string
	for i := range 600 {
		prefix := "p"
		if i%12 == 0 {
			prefix = "gone"
		}
		emails = append(emails, fmt.Sprintf("%s%03d@example.com", prefix, i))
	}
	st, d, c := dispatchFixture(t, srv, emails)
	ctx := context.Background()
	addOwner(t, st)
	if err := d.runCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := st.Campaign(ctx, c.ID)
	if got.Status != store.CampaignPaused || !strings.Contains(got.PausedReason, "hard-bounced") || got.Bounces < 40 {
		t.Fatalf("after sending: %s, %d bounces, reason %q; want paused for bounces", got.Status, got.Bounces, got.PausedReason)
	}
	n, _ := st.SendCounts(ctx, c.ID)
	if settled := n[store.SendSent] + n[store.SendFailed]; settled < store.MinSendsForPause || n[store.SendQueued] == 0 {
		t.Errorf("paused after %d settled with %d queued; want at least %d settled and some left", settled, n[store.SendQueued], store.MinSendsForPause)
	}
	if told := ownerAlerts(t, st); len(told) != 1 || !strings.Contains(told[0], "paused itself") {
		t.Errorf("owners told %d times: %q", len(told), told)
	}
	// Resuming clears the reason and counts the rates afresh: the rest go
	// out (fewer than 500 of them, too few to judge), and the campaign
	// finishes rather than pausing again at once.
	if _, err := st.ChangeCampaign(ctx, c.ID, store.ActionResume); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Campaign(ctx, c.ID); got.PausedReason != "" || got.RatesFrom.Bounces != got.Bounces || got.RatesFrom.Settled < store.MinSendsForPause {
		t.Errorf("resumed: reason %q, rates from %+v with %d bounces; want no reason and rates from now", got.PausedReason, got.RatesFrom, got.Bounces)
	}
	if err := d.runCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Campaign(ctx, c.ID); got.Status != store.CampaignSent || len(ownerAlerts(t, st)) != 1 {
		t.Errorf("after resuming: %s, owners told %d times; want sent, told once", got.Status, len(ownerAlerts(t, st)))
	}
}

// TestCampaignMessagesAreDKIMSigned signs a campaign with the sending
// domain's Ed25519 key; every message verifies against its DNS record.
func TestCampaignMessagesAreDKIMSigned(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	_, d, c := dispatchFixture(t, srv, []string{"s1@example.com", "s2@example.com"})
	key, err := d.s.AddDKIMKey(context.Background(), "bakery.example", "herald1", mailer.DKIMEd25519)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.runCampaign(context.Background(), c.ID); err != nil {
		t.Fatal(err)
	}
	record := key.DNSValue
	lookup := func(name string) ([]string, error) {
		if name != key.DNSName() {
			return nil, fmt.Errorf("no TXT record at %s", name)
		}
		return []string{record}, nil
	}
	msgs := srv.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	for _, m := range msgs {
		verifs, err := dkim.VerifyWithOptions(bytes.NewReader(m.Data), &dkim.VerifyOptions{LookupTXT: lookup})
		if err != nil || len(verifs) != 1 || verifs[0].Err != nil || verifs[0].Domain != "bakery.example" {
			t.Errorf("message to %s: %v %+v", m.To[0], err, verifs)
		}
	}
}

// TestTransactionalMailCountsTowardsTheQuota sends two transactional
// messages through a relay allowed 4 a day: they go (the lane is never
// held back), and a campaign of 5 then gets only the 2 left.
func TestTransactionalMailCountsTowardsTheQuota(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	emails := []string{"c1@example.com", "c2@example.com", "c3@example.com", "c4@example.com", "c5@example.com"}
	st, d, c := dispatchFixture(t, srv, emails)
	ctx := context.Background()
	r := relayOf(t, st)
	in := r.InputOf()
	in.DailyQuota = 4
	if _, err := st.UpdateRelay(ctx, r.ID, in); err != nil {
		t.Fatal(err)
	}
	lane := d.s.Lane()
	run(t, lane)
	for _, to := range []string{"buyer1@example.com", "buyer2@example.com"} {
		m := queueMessage(t, st, to)
		lane.Wake()
		waitStatus(t, st, m.ID, store.MessageSent)
	}
	if err := d.runCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	n, _ := st.SendCounts(ctx, c.ID)
	if n[store.SendSent] != 2 || srv.Count() != 4 {
		t.Errorf("campaign sent %d (relay received %d in all), want 2 of the 4 a day left after 2 receipts", n[store.SendSent], srv.Count())
	}
}

// TestSESQuotaSurvivesAReload keeps what an SES account has left when the
// relay's count is read again, as when another campaign opens the relay.
func TestSESQuotaSurvivesAReload(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	g := newGates(st)
	ctx := context.Background()
	r := store.Relay{ID: 7, Name: "SES"}
	rg := g.relay(r)
	if err := g.useSESQuota(ctx, rg, ses.Quota{Max24Hour: 200, SentLast24Hours: 198, SendingEnabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.reserve(ctx, rg); err != nil {
		t.Fatal(err)
	}
	g.relay(r)
	if _, err := g.reserve(ctx, rg); err != nil {
		t.Fatalf("second of 2 left: %v", err)
	}
	_, err := g.reserve(ctx, rg)
	if h, ok := err.(*held); !ok || !strings.Contains(h.reason, "SES account's 24-hour quota") {
		t.Errorf("third: %v, want held by the SES quota", err)
	}
}

// TestSESQuotaHoldLiftsOnANewDay holds a relay whose SES account has no
// quota left, and lets it send again the next day, until the quota is
// read afresh.
func TestSESQuotaHoldLiftsOnANewDay(t *testing.T) {
	t.Parallel()
	g := newGates(testStore(t))
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	g.now = func() time.Time { return now }
	ctx := context.Background()
	rg := g.relay(store.Relay{ID: 3, Name: "SES"})
	if err := g.useSESQuota(ctx, rg, ses.Quota{Max24Hour: 100, SentLast24Hours: 100, SendingEnabled: true}); err != nil {
		t.Fatal(err)
	}
	if h, _ := g.full(ctx, rg); h == nil {
		t.Fatal("no quota left: want held")
	}
	now = now.Add(24 * time.Hour)
	if h, _ := g.full(ctx, rg); h != nil {
		t.Errorf("next day: held by %q, want free until the quota is read again", h.reason)
	}
}
