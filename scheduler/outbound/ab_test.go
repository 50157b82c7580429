package outbound

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"herald/mailer/smtptest"
	"herald/store"
)

// TestABTestSendsTheWinnerToTheRest: an A/B test of two subjects on a
// fifth of 200 contacts sends each variant to half the test share, holds
// the rest back, and survives a restart of the sender; once its wait is
// over the variant with more opens is picked and goes to everyone else,
// and each contact gets exactly one message.
func TestABTestSendsTheWinnerToTheRest(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	st := testStore(t)
	ctx := context.Background()
	if _, err := st.SaveGeneral(ctx, store.General{OrgName: "Bakery", FromEmail: "news@bakery.example", BaseURL: "https://news.bakery.example",
		PostalAddress: "1 Mill Lane", Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	sink(t, st, srv, 2)
	clock := setClock(st)
	l, _ := st.CreateList(ctx, store.ListInput{Name: new("News")})
	const contacts = 200
	for i := range contacts {
		e := fmt.Sprintf("c%03d@example.com", i)
		if _, _, err := st.CreateContact(ctx, store.ContactInput{Email: &e, Lists: []int64{l.ID}, Source: "test"}, false); err != nil {
			t.Fatal(err)
		}
	}
	ab := &store.ABTest{Variants: []store.ABVariant{{Subject: "Fresh bread"}, {Subject: "Warm croissants"}}, TestPercent: 20, Metric: store.MetricOpen, WaitMinutes: 60}
	x, err := st.CreateCampaign(ctx, store.CampaignInput{Name: new("June"), Subject: new("June"), Format: new("text"), Body: new("Hello"),
		ListIDs: &[]int64{l.ID}, AB: ab})
	if err != nil {
		t.Fatal(err)
	}
	s := newService(t, st)
	if err := s.Send(ctx, x.ID); err != nil {
		t.Fatal(err)
	}
	// The first sender runs until the test share is out, then stops, as
	// in a restart.
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Dispatcher().Run(runCtx) }()
	tested := 0
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		counts, _ := st.SendCounts(ctx, x.ID)
		if tested = counts[store.SendSent]; tested > 0 && counts[store.SendQueued] == contacts-tested {
			break
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	per := map[string]int{}
	for _, m := range msgs {
		for _, subject := range []string{"Fresh bread", "Warm croissants"} {
			if strings.Contains(string(m.Data), "Subject: "+subject) {
				per[subject]++
			}
		}
	}
	if len(msgs) < 15 || len(msgs) > 65 || per["Fresh bread"]+per["Warm croissants"] != len(msgs) ||
		per["Fresh bread"]-per["Warm croissants"] > 1 || per["Warm croissants"]-per["Fresh bread"] > 1 {
		t.Fatalf("test share: got %d messages split %v, want about a fifth of %d split evenly", len(msgs), per, contacts)
	}
	// Those who got B open it, more than A's.
	sends, _, err := st.CampaignSends(ctx, x.ID, store.SendSent, store.Order{}, contacts, 0)
	if err != nil {
		t.Fatal(err)
	}
	w := st.NewHitWriter(func(err error) { t.Error(err) })
	run(t, w)
	for _, sd := range sends {
		if sd.Variant == 1 {
			if err := w.Record(ctx, store.Hit{Kind: store.ResultOpen, At: clock.Now(), CampaignID: x.ID, SendID: sd.ID}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// A new sender, as after a restart: before the wait nothing more goes.
	s2 := newService(t, st)
	run(t, s2.Dispatcher())
	if err := s2.DecideABTests(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := srv.Count(); n != len(msgs) {
		t.Fatalf("before the wait: %d messages, want still %d", n, len(msgs))
	}
	clock.Advance(61 * time.Minute)
	if err := s2.DecideABTests(ctx); err != nil {
		t.Fatal(err)
	}
	all := srv.Wait(contacts, 20*time.Second)
	got := map[string]int{}
	for _, m := range all {
		got[m.To[0]]++
		if !strings.Contains(string(m.Data), "Subject: Warm croissants") && !strings.Contains(string(m.Data), "Subject: Fresh bread") {
			t.Fatalf("a message with neither subject: %s", m.Data)
		}
	}
	if len(all) != contacts || len(got) != contacts {
		t.Fatalf("got %d messages to %d contacts, want one each to %d", len(all), len(got), contacts)
	}
	rest := 0
	for _, m := range all[len(msgs):] {
		if strings.Contains(string(m.Data), "Subject: Warm croissants") {
			rest++
		}
	}
	if rest != contacts-len(msgs) {
		t.Errorf("the rest: %d of %d got the winner, B", rest, contacts-len(msgs))
	}
	_, state, err := st.CampaignAB(ctx, x.ID)
	if err != nil || state.Status != store.ABDecided || state.Winner != 1 || state.DecidedBy != "after the wait" {
		t.Errorf("got %+v (%v), want decided for B after the wait", state, err)
	}
}
