package web

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"herald/store"
	"herald/templates"
)

// dashboardDays is the period the dashboard sets against the one before.
const dashboardDays = 30

// sendingResults fills the dashboard's results: the last 30 days against
// the 30 before, a chart of them, recent campaigns with their rates, and
// the campaigns whose bounce or complaint rate passes the thresholds.
func (s *Server) sendingResults(ctx context.Context, p *templates.DashboardProps) error {
	g := s.general()
	loc := g.Location()
	now := s.store.Now().In(loc)
	to := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, loc)
	from := to.AddDate(0, 0, -dashboardDays)
	cur, err := s.store.Overview(ctx, from, to, store.IntervalDay, loc)
	if err != nil {
		return err
	}
	prev, err := s.store.Overview(ctx, from.AddDate(0, 0, -dashboardDays), from, store.IntervalDay, loc)
	if err != nil {
		return err
	}
	r, pr := store.RatesOf(cur.Totals, false), store.RatesOf(prev.Totals, false)
	p.Period = []templates.Figure{
		sentFigure(cur.Totals.Sent, prev.Totals.Sent),
		rateFigure("Open rate", r.Open, pr.Open, prev.Totals.Sent > 0),
		rateFigure("Click rate", r.Click, pr.Click, prev.Totals.Sent > 0),
		countFigure("List growth", cur.ListGrowth, prev.ListGrowth),
	}
	points := cur.Series()
	p.Chart = opensClicksChart("dashboard-chart", points, false, func(int) string { return store.IntervalDay }, loc)
	recent, err := s.store.RecentCampaigns(ctx, 5)
	if err != nil {
		return err
	}
	p.Recent = campaignRatesTable(recent)
	for _, c := range recent {
		rt := store.RatesOf(c.Counts, false)
		if g.BouncePausePercent > 0 && rt.Bounce*100 > g.BouncePausePercent {
			p.Attention = append(p.Attention, templates.Option{Value: "/campaigns/" + itoa(c.ID) + "/report",
				Label: fmt.Sprintf("%s: bounce rate %s is over %g%%", c.Name, pct(rt.Bounce), g.BouncePausePercent)})
		}
		if g.ComplaintPausePercent > 0 && rt.Complaint*100 > g.ComplaintPausePercent {
			p.Attention = append(p.Attention, templates.Option{Value: "/campaigns/" + itoa(c.ID) + "/report",
				Label: fmt.Sprintf("%s: complaint rate %s is over %g%%", c.Name, pct(rt.Complaint), g.ComplaintPausePercent)})
		}
	}
	return nil
}

// countFigure is a count with its change since the period before.
func countFigure(label string, n, before int) templates.Figure {
	f := templates.Figure{Label: label, Value: strconv.Itoa(n), Note: fmt.Sprintf("%+d on the 30 days before", n-before)}
	f.Trend = trend(float64(n - before))
	return f
}

// sentFigure is the messages sent, with the change when any were sent in
// the period before.
func sentFigure(n, before int) templates.Figure {
	if before == 0 {
		return templates.Figure{Label: "Sent", Value: strconv.Itoa(n), Note: "nothing sent in the 30 days before"}
	}
	return countFigure("Sent", n, before)
}

// rateFigure is a rate with its change, in percentage points; with nothing
// sent before, there is nothing to compare with.
func rateFigure(label string, r, before float64, comparable bool) templates.Figure {
	if !comparable {
		return templates.Figure{Label: label, Value: pct(r), Note: "nothing sent in the 30 days before"}
	}
	d := (r - before) * 100
	return templates.Figure{Label: label, Value: pct(r), Note: fmt.Sprintf("%+.1f points on the 30 days before", d), Trend: trend(d)}
}

func trend(d float64) string {
	switch {
	case d > 0:
		return "up"
	case d < 0:
		return "down"
	}
	return ""
}
