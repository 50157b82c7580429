package store

import (
	"context"
	"testing"
	"time"
)

// TestSendAtLocalTime: a campaign sent at 09:00 local time has each
// contact's send due at the next 09:00 in their own timezone attribute,
// and at the organisation's for a contact without one (or with one that
// is not a timezone).
func TestSendAtLocalTime(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	start := time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC) // a Saturday, noon in London
	s.SetClock(func() time.Time { return start })
	if _, err := s.SaveGeneral(ctx, General{OrgName: "Bakery", Timezone: "Europe/London"}); err != nil {
		t.Fatal(err)
	}
	name := "News"
	l, err := s.CreateList(ctx, ListInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"tokyo@example.com":   "2026-03-08T09:00:00+09:00", // 00:00 UTC: 09:00 Tokyo passed at noon UTC
		"newyork@example.com": "2026-03-07T09:00:00-05:00", // 07:00 there: later the same day
		"london@example.com":  "2026-03-08T09:00:00Z",
		"typo@example.com":    "2026-03-08T09:00:00Z",
	}
	zones := map[string]string{"tokyo@example.com": "Asia/Tokyo", "newyork@example.com": "America/New_York", "typo@example.com": "Mars/Olympus"}
	for email := range want {
		e := email
		attrs := map[string]any{}
		if z := zones[email]; z != "" {
			attrs["timezone"] = z
		}
		if _, _, err := s.CreateContact(ctx, ContactInput{Email: &e, Lists: []int64{l.ID}, Attributes: attrs, Source: "test"}, false); err != nil {
			t.Fatal(err)
		}
	}
	at := "09:00"
	c, err := s.CreateCampaign(ctx, CampaignInput{Name: &name, ListIDs: &[]int64{l.ID}, LocalAt: &at})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartCampaign(ctx, c.ID, "{}"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Materialise(ctx, c.ID, Audience{Lists: []int64{l.ID}}); err != nil {
		t.Fatal(err)
	}
	sends, _, err := s.CampaignSends(ctx, c.ID, "", Order{}, 10, 0)
	if err != nil || len(sends) != len(want) {
		t.Fatalf("sends: %v %v", sends, err)
	}
	for _, sd := range sends {
		w, _ := time.Parse(time.RFC3339, want[sd.Email])
		if !sd.NextAttempt.Equal(w) {
			t.Errorf("%s: due %s, want %s", sd.Email, sd.NextAttempt.UTC(), w.UTC())
		}
	}
}
