package store

import (
	"context"
	"fmt"
	"time"
)

// Counts are a campaign's results, for an hour or summed over any span;
// campaign 0 is transactional mail. Unique counts count a send once, in
// the hour of its first open or click.
type Counts struct {
	Sent              int `json:"sent"`
	Delivered         int `json:"delivered"`
	Opens             int `json:"opens"`
	HumanOpens        int `json:"human_opens"`
	UniqueOpens       int `json:"unique_opens"`
	UniqueHumanOpens  int `json:"unique_human_opens"`
	Clicks            int `json:"clicks"`
	HumanClicks       int `json:"human_clicks"`
	UniqueClicks      int `json:"unique_clicks"`
	UniqueHumanClicks int `json:"unique_human_clicks"`
	HardBounces       int `json:"hard_bounces"`
	// Refused are the hard bounces the relay gave while taking a message,
	// which therefore was never sent; the rest were reported after.
	Refused      int `json:"refused"`
	SoftBounces  int `json:"soft_bounces"`
	Complaints   int `json:"complaints"`
	Unsubscribes int `json:"unsubscribes"`
}

// countColumns are the campaign_hours columns in the order of fields.
const countColumns = `sent, delivered, opens, human_opens, unique_opens, unique_human_opens, clicks, human_clicks,
	unique_clicks, unique_human_clicks, hard_bounces, refused, soft_bounces, complaints, unsubscribes`

// sumColumns sums every counter, in the same order.
const sumColumns = `coalesce(sum(sent), 0), coalesce(sum(delivered), 0), coalesce(sum(opens), 0), coalesce(sum(human_opens), 0),
	coalesce(sum(unique_opens), 0), coalesce(sum(unique_human_opens), 0), coalesce(sum(clicks), 0), coalesce(sum(human_clicks), 0),
	coalesce(sum(unique_clicks), 0), coalesce(sum(unique_human_clicks), 0), coalesce(sum(hard_bounces), 0), coalesce(sum(refused), 0),
	coalesce(sum(soft_bounces), 0),
	coalesce(sum(complaints), 0), coalesce(sum(unsubscribes), 0)`

func (c *Counts) fields() []any {
	return []any{&c.Sent, &c.Delivered, &c.Opens, &c.HumanOpens, &c.UniqueOpens, &c.UniqueHumanOpens, &c.Clicks, &c.HumanClicks,
		&c.UniqueClicks, &c.UniqueHumanClicks, &c.HardBounces, &c.Refused, &c.SoftBounces, &c.Complaints, &c.Unsubscribes}
}

func (c Counts) values() []any {
	return []any{c.Sent, c.Delivered, c.Opens, c.HumanOpens, c.UniqueOpens, c.UniqueHumanOpens, c.Clicks, c.HumanClicks,
		c.UniqueClicks, c.UniqueHumanClicks, c.HardBounces, c.Refused, c.SoftBounces, c.Complaints, c.Unsubscribes}
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	f, v := c.fields(), o.values()
	for i := range f {
		*f[i].(*int) += v[i].(int)
	}
}

const addCountsSQL = `INSERT INTO campaign_hours (campaign_id, hour, ` + countColumns + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (campaign_id, hour) DO UPDATE SET sent = sent + excluded.sent, delivered = delivered + excluded.delivered,
	opens = opens + excluded.opens, human_opens = human_opens + excluded.human_opens,
	unique_opens = unique_opens + excluded.unique_opens, unique_human_opens = unique_human_opens + excluded.unique_human_opens,
	clicks = clicks + excluded.clicks, human_clicks = human_clicks + excluded.human_clicks,
	unique_clicks = unique_clicks + excluded.unique_clicks, unique_human_clicks = unique_human_clicks + excluded.unique_human_clicks,
	hard_bounces = hard_bounces + excluded.hard_bounces, refused = refused + excluded.refused, soft_bounces = soft_bounces + excluded.soft_bounces,
	complaints = complaints + excluded.complaints, unsubscribes = unsubscribes + excluded.unsubscribes`

// hourKey names one campaign's hour of counters.
type hourKey struct {
	campaign int64
	hour     int64
}

func hourOf(t time.Time) int64 { return t.Unix() / 3600 * 3600 }

// tally gathers counters in memory, to write them once per transaction.
type tally map[hourKey]*Counts

func (t tally) at(campaign int64, at time.Time) *Counts {
	k := hourKey{campaign, hourOf(at)}
	c := t[k]
	if c == nil {
		c = &Counts{}
		t[k] = c
	}
	return c
}

// CampaignCounts sums a campaign's counters over all time; campaign 0 is
// transactional mail. Every answer that shows a campaign's totals reads
// them here, so they agree.
func (s *Store) CampaignCounts(ctx context.Context, campaignID int64) (Counts, error) {
	var c Counts
	err := s.r.QueryRowContext(ctx, `SELECT `+sumColumns+` FROM campaign_hours WHERE campaign_id = ?`, campaignID).Scan(c.fields()...)
	if err != nil {
		return c, fmt.Errorf("store: counts of campaign %d: %w", campaignID, err)
	}
	return c, nil
}
