package store

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

func TestRatesZeroDenominators(t *testing.T) {
	if got := RatesOf(Counts{}, false); got != (Rates{}) {
		t.Errorf("no counts: got %+v, want all 0", got)
	}
	// Opens with nothing delivered (every message bounced): 0, not NaN.
	if got := RatesOf(Counts{Sent: 2, HardBounces: 2, UniqueOpens: 1}, true); got.Open != 0 || got.Bounce != 1 || got.ClickToOpen != 0 {
		t.Errorf("all bounced: got %+v", got)
	}
}

func TestRatesDeliveredRule(t *testing.T) {
	c := Counts{Sent: 10, HardBounces: 1, SoftBounces: 1, UniqueOpens: 4, UniqueHumanOpens: 2, UniqueClicks: 2, UniqueHumanClicks: 1,
		Complaints: 1, Unsubscribes: 2}
	// No delivery reports: delivered is sent less bounces.
	if d := c.DeliveredCount(); d != 8 {
		t.Fatalf("delivered: got %d, want 8", d)
	}
	want := Rates{Open: 0.25, Click: 0.125, ClickToOpen: 0.5, Bounce: 0.2, Complaint: 0.125, Unsubscribe: 0.25}
	if got := RatesOf(c, false); got != want {
		t.Errorf("people: got %+v, want %+v", got, want)
	}
	if got := RatesOf(c, true); got.Open != 0.5 || got.Click != 0.25 {
		t.Errorf("all: got %+v", got)
	}
	// Reported deliveries win.
	c.Delivered = 5
	if got := RatesOf(c, true); got.Open != 0.8 {
		t.Errorf("reported deliveries: got %+v", got)
	}
}

func TestSpansAcrossDST(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip(err)
	}
	// Clocks went forward on 29 March 2026 and back on 25 October.
	for _, c := range []struct {
		day   int
		month time.Month
		hours int
	}{{29, time.March, 23}, {25, time.October, 25}, {26, time.October, 24}} {
		from := time.Date(2026, c.month, c.day, 0, 0, 0, 0, paris)
		hours, err := Spans(from, from.AddDate(0, 0, 1), IntervalHour, paris)
		if err != nil || len(hours) != c.hours {
			t.Errorf("%d %s: got %d hours (%v), want %d", c.day, c.month, len(hours), err, c.hours)
		}
		days, _ := Spans(from.Add(time.Hour), from.AddDate(0, 0, 3), IntervalDay, paris)
		if len(days) != 3 || !days[0].Equal(from) || days[1].Sub(days[0]) != time.Duration(c.hours)*time.Hour {
			t.Errorf("%d %s: days %v", c.day, c.month, days)
		}
	}
	weeks, _ := Spans(time.Date(2026, 3, 26, 15, 0, 0, 0, paris), time.Date(2026, 4, 10, 0, 0, 0, 0, paris), IntervalWeek, paris)
	if len(weeks) != 3 || weeks[0] != time.Date(2026, 3, 23, 0, 0, 0, 0, paris) {
		t.Errorf("weeks: %v", weeks)
	}
	if _, err := Spans(time.Unix(0, 0), time.Unix(0, 0).AddDate(1, 0, 0), IntervalHour, paris); err != ErrTooManyIntervals {
		t.Errorf("a year of hours: got %v, want ErrTooManyIntervals", err)
	}
}

func TestOverviewAndSeries(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := context.Background()
	paris, _ := time.LoadLocation("Europe/Paris")
	c, err := s.CreateCampaign(ctx, CampaignInput{Name: new("Autumn")})
	if err != nil {
		t.Fatal(err)
	}
	// Started 22:00 Paris time on 24 October 2026 (20:00 UTC).
	start := time.Date(2026, 10, 24, 20, 0, 0, 0, time.UTC)
	if _, err := s.w.ExecContext(ctx, `UPDATE campaigns SET status = 'sent', started_at = ? WHERE id = ?`, start.Unix(), c.ID); err != nil {
		t.Fatal(err)
	}
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		a := newApplier(ctx, nil, tx, nil)
		a.counts.at(c.ID, start).Sent = 10
		a.counts.at(c.ID, start.Add(time.Hour)).UniqueHumanOpens = 2
		a.counts.at(c.ID, start.Add(50*time.Hour)).UniqueHumanOpens = 1
		a.counts.at(c.ID, start.Add(100*time.Hour)).UniqueHumanClicks = 1
		a.counts.at(0, start.Add(2*time.Hour)).Sent = 5
		return a.flush()
	})
	if err != nil {
		t.Fatal(err)
	}
	series, err := s.CampaignSeries(ctx, c.ID, start, paris)
	if err != nil {
		t.Fatal(err)
	}
	// 48 hours, the rest of that day, then whole days to the last count.
	if len(series) < 50 || series[0].Counts.Sent != 10 || series[1].Counts.UniqueHumanOpens != 2 {
		t.Fatalf("series: %d points, %+v", len(series), series[:2])
	}
	var sum Counts
	for _, p := range series {
		sum.Add(p.Counts)
	}
	if total, _ := s.CampaignCounts(ctx, c.ID); sum != total {
		t.Errorf("series sum %+v, counts %+v", sum, total)
	}
	o, err := s.Overview(ctx, time.Date(2026, 10, 24, 0, 0, 0, 0, paris), time.Date(2026, 10, 27, 0, 0, 0, 0, paris), IntervalDay, paris)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Points) != 3 || o.Points[0].Counts.Sent != 10 || o.Points[1].Counts.Sent != 5 || o.Totals.Sent != 15 || o.Points[2].Counts.UniqueHumanOpens != 1 {
		t.Errorf("overview: %+v", o.Points)
	}
	if len(o.Campaigns) != 1 || o.Campaigns[0].Counts.Sent != 10 || o.Campaigns[0].Counts.UniqueHumanClicks != 1 {
		t.Errorf("campaigns: %+v", o.Campaigns)
	}
}
