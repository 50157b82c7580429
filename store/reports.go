package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Rates are a campaign's (or any span's) results as fractions from 0 to 1.
// They are computed by RatesOf alone, so every page and answer agrees:
//
//   - open rate = unique opens / delivered
//   - click rate = unique clicks / delivered
//   - click-to-open = unique clicks / unique opens
//   - bounce rate = (hard + soft bounces) / (sent + refused)
//   - complaint rate = complaints / delivered
//   - unsubscribe rate = unsubscribes / delivered
//
// "Delivered" is Counts.DeliveredCount. A zero denominator gives 0, and no
// rate passes 1.
type Rates struct {
	Open        float64 `json:"open"`
	Click       float64 `json:"click"`
	ClickToOpen float64 `json:"click_to_open"`
	Bounce      float64 `json:"bounce"`
	Complaint   float64 `json:"complaint"`
	Unsubscribe float64 `json:"unsubscribe"`
}

// DeliveredCount is how many messages reached their recipients: the
// delivered counter when the relay's provider reports deliveries (it is
// above 0), otherwise sent minus the hard and soft bounces reported after
// the relay took the message (those it refused outright were never sent).
func (c Counts) DeliveredCount() int {
	if c.Delivered > 0 {
		return c.Delivered
	}
	return max(c.Sent-(c.HardBounces-c.Refused)-c.SoftBounces, 0)
}

// Opened and Clicked are the unique opens and clicks: of people only, or
// with all, of machines (image proxies, link scanners) too.
func (c Counts) Opened(all bool) int {
	if all {
		return c.UniqueOpens
	}
	return c.UniqueHumanOpens
}

// Clicked is the unique clicks; see Opened.
func (c Counts) Clicked(all bool) int {
	if all {
		return c.UniqueClicks
	}
	return c.UniqueHumanClicks
}

// RatesOf computes the rates of c, of people only unless all.
func RatesOf(c Counts, all bool) Rates {
	d := c.DeliveredCount()
	return Rates{
		Open:        ratio(c.Opened(all), d),
		Click:       ratio(c.Clicked(all), d),
		ClickToOpen: ratio(c.Clicked(all), c.Opened(all)),
		Bounce:      ratio(c.HardBounces+c.SoftBounces, c.Sent+c.Refused),
		Complaint:   ratio(c.Complaints, d),
		Unsubscribe: ratio(c.Unsubscribes, d),
	}
}

// ratio is n of d, at most 1: a recipient who opened and then bounced (a
// late report, or a forged one) must not make a rate pass 100%.
func ratio(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return min(float64(n)/float64(d), 1)
}

// Funnel follows a campaign's recipients from the outbox to a click.
type Funnel struct {
	Recipients   int `json:"recipients"`
	Sent         int `json:"sent"`
	Delivered    int `json:"delivered"`
	Opened       int `json:"opened"`
	Clicked      int `json:"clicked"`
	HardBounced  int `json:"hard_bounced"`
	SoftBounced  int `json:"soft_bounced"`
	Complained   int `json:"complained"`
	Unsubscribed int `json:"unsubscribed"`
}

// CampaignReport is a campaign's totals, rates and funnel.
type CampaignReport struct {
	Campaign Campaign
	Counts   Counts
	Rates    Rates
	Funnel   Funnel
}

// CampaignReport returns a campaign's report, of people only unless all.
func (s *Store) CampaignReport(ctx context.Context, id int64, all bool) (CampaignReport, error) {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return CampaignReport{}, err
	}
	n, err := s.CampaignCounts(ctx, id)
	if err != nil {
		return CampaignReport{}, err
	}
	return CampaignReport{Campaign: c, Counts: n, Rates: RatesOf(n, all), Funnel: Funnel{
		Recipients: c.Recipients, Sent: n.Sent, Delivered: n.DeliveredCount(), Opened: n.Opened(all), Clicked: n.Clicked(all),
		HardBounced: n.HardBounces, SoftBounced: n.SoftBounces, Complained: n.Complaints, Unsubscribed: n.Unsubscribes,
	}}, nil
}

// Point is the counts of one span of a time series, starting at Start.
type Point struct {
	Start  time.Time `json:"start"`
	Counts Counts    `json:"counts"`
}

// seriesHours is how long after its start a campaign's series goes hour by
// hour; after that it goes day by day.
const seriesHours = 48

const campaignHoursSQL = `SELECT hour, ` + countColumns + ` FROM campaign_hours WHERE campaign_id = ? ORDER BY hour`

// CampaignSeries returns a campaign's counts hour by hour for the first 48
// hours after it started, then day by day in loc, up to its last counted
// hour. It reads the hourly counters, never the events.
func (s *Store) CampaignSeries(ctx context.Context, id int64, started time.Time, loc *time.Location) ([]Point, error) {
	rows, err := queryAll(ctx, s, fmt.Sprintf("series of campaign %d", id), scanHour, campaignHoursSQL, id)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	first := time.Unix(hourOf(started), 0).In(loc)
	if started.IsZero() || rows[0].Start.Before(first) {
		first = rows[0].Start.In(loc)
	}
	last := rows[len(rows)-1].Start
	var starts []time.Time
	t := first
	for i := 0; i < seriesHours && !t.After(last); i++ {
		starts = append(starts, t)
		t = t.Add(time.Hour)
	}
	if !t.After(last) {
		day := dayStart(t, loc)
		if day.Before(t) {
			starts = append(starts, t)
			day = day.AddDate(0, 0, 1)
		}
		for ; !day.After(last); day = day.AddDate(0, 0, 1) {
			starts = append(starts, day)
		}
	}
	return bucket(starts, rows), nil
}

func scanHour(row scanner) (Point, error) {
	var p Point
	var h int64
	err := row.Scan(append([]any{&h}, p.Counts.fields()...)...)
	p.Start = fromUnix(h)
	return p, err
}

func dayStart(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// bucket adds up rows (sorted by time) into the spans that begin at starts
// (sorted); rows before the first span are left out.
func bucket(starts []time.Time, rows []Point) []Point {
	out := make([]Point, len(starts))
	for i, t := range starts {
		out[i].Start = t
	}
	for _, r := range rows {
		i := sort.Search(len(starts), func(i int) bool { return starts[i].After(r.Start) }) - 1
		if i >= 0 {
			out[i].Counts.Add(r.Counts)
		}
	}
	return out
}

// Intervals of an overview.
const (
	IntervalHour  = "hour"
	IntervalDay   = "day"
	IntervalWeek  = "week"
	IntervalMonth = "month"
)

// MaxIntervals caps how many spans one overview has.
const MaxIntervals = 5000

// ErrTooManyIntervals is returned for an overview of more than
// MaxIntervals spans.
var ErrTooManyIntervals = errors.New("store: too many intervals")

// Spans returns the starts of the intervals from from's up to to, in loc:
// hours, days, weeks (from Monday) or months.
func Spans(from, to time.Time, interval string, loc *time.Location) ([]time.Time, error) {
	from = from.In(loc)
	var t time.Time
	var next func(time.Time) time.Time
	switch interval {
	case IntervalHour:
		t, next = from.Truncate(time.Hour), func(t time.Time) time.Time { return t.Add(time.Hour) }
	case IntervalDay:
		t, next = dayStart(from, loc), func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
	case IntervalWeek:
		d := dayStart(from, loc)
		t, next = d.AddDate(0, 0, -(int(d.Weekday())+6)%7), func(t time.Time) time.Time { return t.AddDate(0, 0, 7) }
	case IntervalMonth:
		t, next = time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, loc), func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }
	default:
		return nil, fmt.Errorf("store: interval %q: want hour, day, week or month", interval)
	}
	var out []time.Time
	for ; t.Before(to); t = next(t) {
		if len(out) == MaxIntervals {
			return nil, ErrTooManyIntervals
		}
		out = append(out, t)
	}
	return out, nil
}
