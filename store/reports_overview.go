package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// OverviewPoint is one interval of the overview: the counters of every
// campaign and of transactional mail, the contacts created, and the net
// growth of list memberships.
type OverviewPoint struct {
	Point
	NewContacts int `json:"new_contacts"`
	ListGrowth  int `json:"list_growth"`
}

// CampaignRow is a campaign in a report's table, with its totals over all
// time (the same as CampaignCounts).
type CampaignRow struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	StartedAt time.Time `json:"started_at"`
	Counts    Counts    `json:"counts"`
}

// Overview is what happened between From and To, interval by interval.
type Overview struct {
	From, To    time.Time
	Interval    string
	Points      []OverviewPoint
	Totals      Counts
	NewContacts int
	ListGrowth  int
	Campaigns   []CampaignRow
}

// Series is the overview's points as a chart draws them.
func (o Overview) Series() []Point {
	points := make([]Point, len(o.Points))
	for i, pt := range o.Points {
		points[i] = pt.Point
	}
	return points
}

// The overview's queries. Counters are kept per UTC hour, so in a zone
// offset by a fraction of an hour an hour's counters fall in the interval
// where that hour begins. Contacts and memberships are grouped by quarter
// hour, which every zone's offset is a multiple of.
const (
	overviewHoursSQL = `SELECT hour, ` + sumColumns + ` FROM campaign_hours WHERE hour >= ? AND hour < ? GROUP BY hour ORDER BY hour`
	newContactsSQL   = `SELECT created_at / 900 * 900, count(*) FROM contacts WHERE created_at >= ? AND created_at < ? GROUP BY 1 ORDER BY 1`
	// List growth counts memberships made in the range, less those whose
	// last change in the range was to unsubscribe.
	listJoinsSQL = `SELECT created_at / 900 * 900, count(*) FROM list_members WHERE created_at >= ? AND created_at < ? GROUP BY 1 ORDER BY 1`
	listLeftSQL  = `SELECT updated_at / 900 * 900, count(*) FROM list_members
WHERE status = 'unsubscribed' AND updated_at >= ? AND updated_at < ? GROUP BY 1 ORDER BY 1`
	// campaignRowColumns are a campaign's columns in a CampaignRow, before
	// its counters summed from campaign_hours h (see campaignSums).
	campaignRowColumns = `SELECT c.id, c.name, c.status, coalesce(c.started_at, 0), `
	campaignRowsFrom   = ` FROM campaigns c LEFT JOIN campaign_hours h ON h.campaign_id = c.id `
)

// campaignSums are sumColumns over campaign_hours as h, beside campaigns
// whose names are the same.
var campaignSums = strings.ReplaceAll(sumColumns, "sum(", "sum(h.")

var campaignRowsSQL = campaignRowColumns + campaignSums + campaignRowsFrom +
	`WHERE c.started_at >= ? AND c.started_at < ? AND c.automation_id IS NULL GROUP BY c.id ORDER BY c.started_at DESC, c.id DESC`

// Overview sums every campaign's and transactional mail's counters from
// from to to, by interval (hour, day, week or month) in loc, with new
// contacts, net list growth, and the campaigns that started in the range.
func (s *Store) Overview(ctx context.Context, from, to time.Time, interval string, loc *time.Location) (Overview, error) {
	starts, err := Spans(from, to, interval, loc)
	if err != nil {
		return Overview{}, err
	}
	o := Overview{From: from, To: to, Interval: interval}
	if len(starts) == 0 {
		return o, nil
	}
	lo, hi := unix(starts[0]), unix(to)
	hours, err := queryAll(ctx, s, "overview", scanHour, overviewHoursSQL, lo, hi)
	if err != nil {
		return Overview{}, err
	}
	for _, p := range bucket(starts, hours) {
		o.Points = append(o.Points, OverviewPoint{Point: p})
		o.Totals.Add(p.Counts)
	}
	for _, q := range []struct {
		sql  string
		sign int
		add  func(*OverviewPoint, int)
	}{
		{newContactsSQL, 1, func(p *OverviewPoint, n int) { p.NewContacts += n; o.NewContacts += n }},
		{listJoinsSQL, 1, func(p *OverviewPoint, n int) { p.ListGrowth += n; o.ListGrowth += n }},
		{listLeftSQL, -1, func(p *OverviewPoint, n int) { p.ListGrowth -= n; o.ListGrowth -= n }},
	} {
		counts, err := queryAll(ctx, s, "overview", scanCount, q.sql, lo, hi)
		if err != nil {
			return Overview{}, err
		}
		for _, c := range counts {
			if i := sort.Search(len(starts), func(i int) bool { return starts[i].After(c.at) }) - 1; i >= 0 {
				q.add(&o.Points[i], c.n)
			}
		}
	}
	o.Campaigns, err = queryAll(ctx, s, "overview campaigns", scanCampaignRow, campaignRowsSQL, unix(from), hi)
	if err != nil {
		return Overview{}, err
	}
	return o, nil
}

type timeCount struct {
	at time.Time
	n  int
}

func scanCount(row scanner) (timeCount, error) {
	var c timeCount
	var at int64
	err := row.Scan(&at, &c.n)
	c.at = fromUnix(at)
	return c, err
}

func scanCampaignRow(row scanner) (CampaignRow, error) {
	var r CampaignRow
	var started int64
	err := row.Scan(append([]any{&r.ID, &r.Name, &r.Status, &started}, r.Counts.fields()...)...)
	if started > 0 {
		r.StartedAt = fromUnix(started)
	}
	return r, err
}

// RecentCampaigns returns the campaigns started most recently, with their
// totals, newest first.
func (s *Store) RecentCampaigns(ctx context.Context, limit int) ([]CampaignRow, error) {
	q := campaignRowColumns + campaignSums + campaignRowsFrom +
		`WHERE c.started_at IS NOT NULL AND c.automation_id IS NULL GROUP BY c.id ORDER BY c.started_at DESC, c.id DESC LIMIT ?`
	return queryAll(ctx, s, "recent campaigns", scanCampaignRow, q, limit)
}

// CampaignRows returns the given campaigns with their totals, in the order
// of ids; unknown ids are left out.
func (s *Store) CampaignRows(ctx context.Context, ids []int64) ([]CampaignRow, error) {
	q := campaignRowColumns + campaignSums + campaignRowsFrom + `WHERE c.id = ? GROUP BY c.id`
	var out []CampaignRow
	for _, id := range ids {
		rows, err := queryAll(ctx, s, fmt.Sprintf("campaign %d", id), scanCampaignRow, q, id)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}
