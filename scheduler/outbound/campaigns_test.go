package outbound

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"herald/mailer"
	"herald/mailer/smtptest"
	"herald/store"
)

// TestScheduledCampaignThatCannotStartSaysWhy schedules a campaign, then
// deletes the only relay it could go through. At its time it does not wait
// as "scheduled" for ever: it becomes a draft again with the reason, the
// owners are told, and scheduling it anew clears the reason.
func TestScheduledCampaignThatCannotStartSaysWhy(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	st := testStore(t)
	ctx := context.Background()
	if _, err := st.SaveGeneral(ctx, store.General{OrgName: "Bakery", FromEmail: "news@bakery.example", BaseURL: "https://news.bakery.example",
		Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	addOwner(t, st)
	r := sink(t, st, srv, 1)
	l, _ := st.CreateList(ctx, store.ListInput{Name: new("News")})
	x, err := st.CreateCampaign(ctx, store.CampaignInput{Name: new("June"), Subject: new("June"), Format: new("text"), Body: new("Hello"),
		ListIDs: &[]int64{l.ID}, RelayID: &r.ID})
	if err != nil {
		t.Fatal(err)
	}
	s := newService(t, st)
	clock := setClock(st)
	if _, err := s.Schedule(ctx, x.ID, clock.Now().Add(time.Hour).Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteRelay(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	if err := s.StartDue(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := st.Campaign(ctx, x.ID)
	if got.Status != store.CampaignDraft || !strings.Contains(got.PausedReason, "could not start") || !strings.Contains(got.PausedReason, "No relay") {
		t.Fatalf("at its time: %s with %q, want a draft that says why", got.Status, got.PausedReason)
	}
	if missed, _ := st.MissedSchedules(ctx); len(missed) != 1 || missed[0].ID != x.ID {
		t.Errorf("missed schedules: got %d, want this campaign", len(missed))
	}
	if told := ownerAlerts(t, st); len(told) != 1 || !strings.Contains(told[0], "could not start") {
		t.Errorf("owners told: %q, want one alert", told)
	}
	if err := s.StartDue(ctx); err != nil || len(ownerAlerts(t, st)) != 1 {
		t.Errorf("a second look: %v, %d alerts; want nothing more", err, len(ownerAlerts(t, st)))
	}
	sink(t, st, srv, 1)
	if got, err = s.Schedule(ctx, x.ID, clock.Now().Add(time.Hour).Format(time.RFC3339)); err != nil || got.PausedReason != "" {
		t.Errorf("scheduled anew: %q, %v; want the reason cleared", got.PausedReason, err)
	}
}

// TestFrozenContentThatNoLongerRendersPausesTheCampaign starts a campaign
// whose frozen body the limits of this Herald refuse, as one frozen by an
// older one could be: the run pauses it with the reason and tells the
// owners, and fails nobody.
func TestFrozenContentThatNoLongerRendersPausesTheCampaign(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	st, d, c := dispatchFixture(t, srv, []string{"a@example.com", "b@example.com"})
	ctx := context.Background()
	addOwner(t, st)
	if _, err := st.ChangeCampaign(ctx, c.ID, store.ActionCancel); err != nil {
		t.Fatal(err)
	}
	x, err := st.CreateCampaign(ctx, store.CampaignInput{Name: new("Deep"), ListIDs: &c.ListIDs})
	if err != nil {
		t.Fatal(err)
	}
	content := mailer.Content{Name: "Deep", FromEmail: "news@bakery.example",
		Source: mailer.Source{Subject: "Deep", Format: mailer.FormatMarkdown, Body: strings.Repeat(">", 100) + " quoted", Layout: mailer.DefaultLayout}}
	frozen, _ := json.Marshal(content)
	if _, err := st.StartCampaign(ctx, x.ID, string(frozen)); err != nil {
		t.Fatal(err)
	}
	if err := d.runCampaign(ctx, x.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := st.Campaign(ctx, x.ID)
	if got.Status != store.CampaignPaused || !strings.Contains(got.PausedReason, "can no longer be rendered") || !strings.Contains(got.PausedReason, "levels") {
		t.Fatalf("campaign: %s %q, want paused saying its content cannot be rendered", got.Status, got.PausedReason)
	}
	if n, _ := st.SendCounts(ctx, x.ID); n[store.SendFailed] != 0 || srv.Count() != 0 {
		t.Errorf("sends: %v, %d delivered; want nobody failed or sent", n, srv.Count())
	}
	if told := ownerAlerts(t, st); len(told) != 1 || !strings.Contains(told[0], "paused itself") {
		t.Errorf("owners told: %q, want one alert", told)
	}
}
