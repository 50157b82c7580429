package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// CostLine is what one campaign, category or month sent and what it cost:
// its messages sent, times the price its relay charges for 1,000. Priced
// is false when a relay that sent some of them has no price, so the cost
// counts only the rest.
type CostLine struct {
	ID     int64
	Name   string
	Sent   int
	Cost   float64
	Priced bool
}

// Costs estimates what was sent between from and to cost, by campaign, by
// category of transactional mail and by month in loc. A campaign's
// messages count at its relay's price; those of a campaign or message that
// names no relay, at defaultRelay's, the one they go through.
type Costs struct {
	ByCampaign []CostLine
	ByCategory []CostLine
	ByMonth    []CostLine
}

// Costs reads the estimates; see Costs.
func (s *Store) Costs(ctx context.Context, from, to time.Time, loc *time.Location, defaultRelay int64) (Costs, error) {
	prices := map[int64]float64{}
	rows, err := s.r.QueryContext(ctx, `SELECT id, price_per_1000 FROM relays`)
	if err != nil {
		return Costs{}, fmt.Errorf("store: costs: %w", err)
	}
	for rows.Next() {
		var id int64
		var p float64
		if err := rows.Scan(&id, &p); err != nil {
			rows.Close()
			return Costs{}, err
		}
		prices[id] = p
	}
	rows.Close()
	price := func(relay int64) (float64, bool) {
		if relay == 0 {
			relay = defaultRelay
		}
		p := prices[relay]
		return p, p > 0
	}
	campaigns, categories, months := map[int64]*CostLine{}, map[string]*CostLine{}, map[string]*CostLine{}
	add := func(line *CostLine, n int, p float64, ok bool) {
		line.Sent += n
		line.Cost += float64(n) * p / 1000
		line.Priced = line.Priced && ok
	}
	month := func(at int64) *CostLine {
		key := time.Unix(at, 0).In(loc).Format("2006-01")
		if months[key] == nil {
			months[key] = &CostLine{Name: key, Priced: true}
		}
		return months[key]
	}
	// Campaign mail, from the hourly counters (campaign 0 is transactional,
	// counted from the messages themselves below).
	rows, err = s.r.QueryContext(ctx, `SELECT h.campaign_id, c.name, coalesce(c.relay_id, 0), h.hour, h.sent
FROM campaign_hours h JOIN campaigns c ON c.id = h.campaign_id WHERE h.campaign_id > 0 AND h.sent > 0 AND h.hour >= ? AND h.hour < ?`, unix(from), unix(to))
	if err != nil {
		return Costs{}, fmt.Errorf("store: campaign costs: %w", err)
	}
	for rows.Next() {
		var id, relay, hour int64
		var name string
		var n int
		if err := rows.Scan(&id, &name, &relay, &hour, &n); err != nil {
			rows.Close()
			return Costs{}, err
		}
		p, ok := price(relay)
		if campaigns[id] == nil {
			campaigns[id] = &CostLine{ID: id, Name: name, Priced: true}
		}
		add(campaigns[id], n, p, ok)
		add(month(hour), n, p, ok)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Costs{}, err
	}
	// Transactional mail counts in the month it was made, as the range
	// chooses it: a delayed message is sent within 30 days of that. A
	// message to several counts each recipient the relay took, even when
	// others were never sent to (pending_to is set once some were).
	rows, err = s.r.QueryContext(ctx, `SELECT category, coalesce(relay_id, 0), created_at / 3600 * 3600, sum(sent_to) FROM messages
WHERE (status = 'sent' OR pending_to IS NOT NULL) AND created_at >= ? AND created_at < ? GROUP BY 1, 2, 3`, unix(from), unix(to))
	if err != nil {
		return Costs{}, fmt.Errorf("store: message costs: %w", err)
	}
	for rows.Next() {
		var cat string
		var relay, at int64
		var n int
		if err := rows.Scan(&cat, &relay, &at, &n); err != nil {
			rows.Close()
			return Costs{}, err
		}
		p, ok := price(relay)
		if categories[cat] == nil {
			categories[cat] = &CostLine{Name: cat, Priced: true}
		}
		add(categories[cat], n, p, ok)
		add(month(at), n, p, ok)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Costs{}, err
	}
	var c Costs
	for _, l := range campaigns {
		c.ByCampaign = append(c.ByCampaign, *l)
	}
	for _, l := range categories {
		c.ByCategory = append(c.ByCategory, *l)
	}
	for _, l := range months {
		c.ByMonth = append(c.ByMonth, *l)
	}
	byCost := func(a, b CostLine) int {
		return cmp.Or(cmp.Compare(b.Cost, a.Cost), cmp.Compare(b.Sent, a.Sent), cmp.Compare(a.Name, b.Name))
	}
	slices.SortFunc(c.ByCampaign, byCost)
	slices.SortFunc(c.ByCategory, byCost)
	slices.SortFunc(c.ByMonth, func(a, b CostLine) int { return cmp.Compare(a.Name, b.Name) })
	return c, nil
}
