package outbound

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"herald/mailer/smtptest"
	"herald/scheduler/netguard"
	"herald/store"
)

// TestRecurringCampaign: a daily series sends a copy of itself at its
// time, each a campaign of its own with the audience as it is then; a day
// when its feed has nothing new is skipped, and the next one with news
// sends again, to the contact added meanwhile too.
func TestRecurringCampaign(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	var item atomic.Int64
	var broken atomic.Bool
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprintf(w, `<?xml version="1.0"?><rss><channel><title>Bakery</title><item><guid>post-%d</guid><title>News</title></item></channel></rss>`, item.Load())
	}))
	defer feed.Close()
	st := testStore(t)
	ctx := context.Background()
	if _, err := st.SaveGeneral(ctx, store.General{OrgName: "Bakery", FromEmail: "news@bakery.example", BaseURL: "https://news.bakery.example",
		PostalAddress: "1 Mill Lane", Timezone: "Europe/Paris"}); err != nil {
		t.Fatal(err)
	}
	sink(t, st, srv, 1)
	clock := setClock(st)
	l, _ := st.CreateList(ctx, store.ListInput{Name: new("News")})
	add := func(email string) {
		if _, _, err := st.CreateContact(ctx, store.ContactInput{Email: &email, Lists: []int64{l.ID}, Source: "test"}, false); err != nil {
			t.Fatal(err)
		}
	}
	add("ann@example.com")
	x, err := st.CreateCampaign(ctx, store.CampaignInput{Name: new("Daily bread"), Subject: new("Today's bread"), Format: new("text"), Body: new("Hello"),
		ListIDs: &[]int64{l.ID}, Recurrence: &store.Recurrence{Every: store.RecurDaily, At: "07:30", OnlyIfNew: feed.URL + "/feed.xml"}})
	if err != nil {
		t.Fatal(err)
	}
	s := newService(t, st, func(c *Config) { c.Guard = &netguard.Guard{Allowed: func(string) bool { return true }} })
	run(t, s.Dispatcher())
	if err := s.Send(ctx, x.ID); err == nil {
		t.Fatal("a series was sent as a campaign")
	}
	series, err := s.StartSeries(ctx, x.ID)
	if err != nil {
		t.Fatal(err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	if got := series.RecurNextAt.In(paris); got.Hour() != 7 || got.Minute() != 30 || !got.After(clock.Now()) {
		t.Fatalf("next send at %s, want the next 07:30 in Paris", got)
	}
	day := func(news bool) {
		t.Helper()
		if news {
			item.Add(1)
		}
		clock.Advance(24 * time.Hour)
		if err := s.SendSeries(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.StartDue(ctx); err != nil { // the scheduler's job, every 5 s
			t.Fatal(err)
		}
	}
	day(true)
	srv.Wait(1, 10*time.Second)
	day(false) // nothing new: skipped
	add("bob@example.com")
	broken.Store(true) // a feed that fails: skipped, and said on the series
	day(true)
	if got, _ := st.Campaign(ctx, x.ID); !strings.Contains(got.PausedReason, "could not be read") {
		t.Errorf("a day the feed failed: the series says %q, want why it skipped", got.PausedReason)
	}
	broken.Store(false)
	day(false)
	msgs := srv.Wait(3, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	if got := len(srv.Messages()); got != 3 || len(msgs) != 3 {
		t.Fatalf("got %d messages, want 3: ann on day one, nothing on day two, ann and bob on day three", got)
	}
	copies, err := st.Campaigns(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	for _, c := range copies {
		if c.RecurParent == x.ID {
			sent++
		}
	}
	if sent != 2 {
		t.Errorf("got %d copies of the series, want 2 (one a day with news)", sent)
	}
	if got, _ := st.Campaign(ctx, x.ID); got.Status != store.CampaignScheduled || !got.RecurNextAt.After(clock.Now()) {
		t.Errorf("the series: %s, next %s; want scheduled for the next day", got.Status, got.RecurNextAt)
	}
}

// TestNextSendByTheWallClock: a daily schedule at a time the spring change
// skips sends an hour later that day, and at a time the autumn change
// repeats sends once; a cron schedule goes by its expression.
func TestNextSendByTheWallClock(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	daily := store.Recurrence{Every: store.RecurDaily, At: "02:30"}
	for _, tc := range []struct {
		r     store.Recurrence
		after string
		want  string
	}{
		{daily, "2026-03-28T02:30:00+01:00", "2026-03-29T03:30:00+02:00"},
		{daily, "2026-03-29T03:30:00+02:00", "2026-03-30T02:30:00+02:00"},
		{daily, "2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00"},
		{daily, "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"},
		{store.Recurrence{Every: store.RecurWeekly, At: "09:00", Weekday: 1}, "2026-12-05T10:00:00+01:00", "2026-12-07T09:00:00+01:00"},
		{store.Recurrence{Every: store.RecurMonthly, At: "09:00", Day: 1}, "2026-12-05T10:00:00+01:00", "2027-01-01T09:00:00+01:00"},
		{store.Recurrence{Every: store.RecurCron, Cron: "0 9 * * 1-5"}, "2026-12-05T10:00:00+01:00", "2026-12-07T09:00:00+01:00"},
		// A cron time the autumn change repeats is sent once.
		{store.Recurrence{Every: store.RecurCron, Cron: "30 2 * * *"}, "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"},
	} {
		after, _ := time.Parse(time.RFC3339, tc.after)
		want, _ := time.Parse(time.RFC3339, tc.want)
		got, err := NextSend(tc.r, after, paris)
		if err != nil || !got.Equal(want) {
			t.Errorf("%+v after %s: got %s (%v), want %s", tc.r, tc.after, got.In(paris).Format(time.RFC3339), err, tc.want)
		}
	}
}

// TestLateSeriesSendsOnce: a copy made minutes late on the day the clocks
// go back does not bring the repeated hour's time round again, and one
// made after days off does not catch up the times missed.
func TestLateSeriesSendsOnce(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	r := store.Recurrence{Every: store.RecurCron, Cron: "30 2 * * *"}
	for _, tc := range []struct{ due, now, want string }{
		{"2026-10-25T02:30:00+02:00", "2026-10-25T02:45:00+02:00", "2026-10-26T02:30:00+01:00"},
		{"2026-12-01T02:30:00+01:00", "2026-12-05T10:00:00+01:00", "2026-12-06T02:30:00+01:00"},
	} {
		due, _ := time.Parse(time.RFC3339, tc.due)
		now, _ := time.Parse(time.RFC3339, tc.now)
		want, _ := time.Parse(time.RFC3339, tc.want)
		if got, err := nextAfterDue(r, due, now, paris); err != nil || !got.Equal(want) {
			t.Errorf("due %s, now %s: got %s (%v), want %s", tc.due, tc.now, got.In(paris).Format(time.RFC3339), err, tc.want)
		}
	}
}

// TestAScheduledCampaignCannotBecomeASeries: a campaign scheduled to send
// once is refused a repeat schedule until it is unscheduled, rather than
// taken and then never sent.
func TestAScheduledCampaignCannotBecomeASeries(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	st := testStore(t)
	ctx := context.Background()
	if _, err := st.SaveGeneral(ctx, store.General{OrgName: "Bakery", FromEmail: "news@bakery.example", BaseURL: "https://news.bakery.example",
		PostalAddress: "1 Mill Lane", Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	sink(t, st, srv, 1)
	l, _ := st.CreateList(ctx, store.ListInput{Name: new("News")})
	x, err := st.CreateCampaign(ctx, store.CampaignInput{Name: new("June"), Subject: new("June"), Format: new("text"), Body: new("Hello"), ListIDs: &[]int64{l.ID}})
	if err != nil {
		t.Fatal(err)
	}
	s := newService(t, st)
	if _, err := s.Schedule(ctx, x.ID, time.Now().Add(time.Hour).Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	var ve *store.ValidationError
	if _, err := s.UpdateCampaign(ctx, x.ID, store.CampaignInput{Recurrence: &store.Recurrence{Every: store.RecurDaily, At: "07:30"}}); !errors.As(err, &ve) {
		t.Fatalf("a repeat schedule on a scheduled campaign: got %v, want refused", err)
	}
	if got, _ := st.Campaign(ctx, x.ID); got.Recurrence != nil || got.Status != store.CampaignScheduled {
		t.Errorf("after the refusal: %s with %+v, want still scheduled once", got.Status, got.Recurrence)
	}
}
