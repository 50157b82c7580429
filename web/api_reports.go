package web

import (
	"math"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
)

// countsJSON are a campaign's or a period's totals with their rates.
type countsJSON struct {
	Sent         int         `json:"sent"`
	Delivered    int         `json:"delivered"`
	Opened       engagedJSON `json:"opened"`
	Clicked      engagedJSON `json:"clicked"`
	HardBounces  int         `json:"hard_bounces"`
	SoftBounces  int         `json:"soft_bounces"`
	Complaints   int         `json:"complaints"`
	Unsubscribes int         `json:"unsubscribes"`
	// Refused are the hard bounces a relay gave while taking the message,
	// which was never sent; they are among hard_bounces.
	Refused int         `json:"refused"`
	Rates   store.Rates `json:"rates"`
	// RatesAll counts the opens and clicks of machines too.
	RatesAll store.Rates `json:"rates_all"`
}

// engagedJSON counts opens or clicks: recipients (unique) and all of them
// (total), of everyone and of people alone.
type engagedJSON struct {
	Unique      int `json:"unique"`
	Total       int `json:"total"`
	HumanUnique int `json:"human_unique"`
	HumanTotal  int `json:"human_total"`
}

func toCountsJSON(n store.Counts) countsJSON {
	return countsJSON{Sent: n.Sent, Delivered: n.DeliveredCount(),
		Opened:      engagedJSON{Unique: n.UniqueOpens, Total: n.Opens, HumanUnique: n.UniqueHumanOpens, HumanTotal: n.HumanOpens},
		Clicked:     engagedJSON{Unique: n.UniqueClicks, Total: n.Clicks, HumanUnique: n.UniqueHumanClicks, HumanTotal: n.HumanClicks},
		HardBounces: n.HardBounces, SoftBounces: n.SoftBounces, Complaints: n.Complaints, Unsubscribes: n.Unsubscribes, Refused: n.Refused,
		Rates: store.RatesOf(n, false), RatesAll: store.RatesOf(n, true)}
}

type pointJSON struct {
	Start       time.Time  `json:"start"`
	Counts      countsJSON `json:"counts"`
	NewContacts int        `json:"new_contacts"`
	ListGrowth  int        `json:"list_growth"`
}

type campaignRowJSON struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Status    string     `json:"status"`
	StartedAt *time.Time `json:"started_at"`
	countsJSON
}

type overviewJSON struct {
	From        time.Time         `json:"from"`
	To          time.Time         `json:"to"`
	Interval    string            `json:"interval"`
	Totals      countsJSON        `json:"totals"`
	NewContacts int               `json:"new_contacts"`
	ListGrowth  int               `json:"list_growth"`
	Points      []pointJSON       `json:"points"`
	Campaigns   []campaignRowJSON `json:"campaigns"`
}

func toOverviewJSON(o store.Overview) overviewJSON {
	out := overviewJSON{From: o.From, To: o.To, Interval: o.Interval, Totals: toCountsJSON(o.Totals), NewContacts: o.NewContacts,
		ListGrowth: o.ListGrowth, Points: []pointJSON{}, Campaigns: []campaignRowJSON{}}
	for _, p := range o.Points {
		out.Points = append(out.Points, pointJSON{Start: p.Start, Counts: toCountsJSON(p.Counts), NewContacts: p.NewContacts, ListGrowth: p.ListGrowth})
	}
	for _, r := range o.Campaigns {
		out.Campaigns = append(out.Campaigns, campaignRowJSON{ID: r.ID, Name: r.Name, Status: r.Status, StartedAt: optTime(r.StartedAt),
			countsJSON: toCountsJSON(r.Counts)})
	}
	return out
}

// apiReportOverview is the overview between from and to by interval.
func (s *Server) apiReportOverview(c *echo.Context) error {
	_, o, err := s.overviewAsked(c)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toOverviewJSON(o))
}

// overviewAsked reads the range a request asks for, in the organisation's
// timezone, and sums it; a range it cannot read is a 422 naming why.
func (s *Server) overviewAsked(c *echo.Context) (overviewQuery, store.Overview, error) {
	loc := s.location()
	q, errs := overviewQueryOf(c, s.store.Now().In(loc))
	if len(errs) > 0 {
		return q, store.Overview{}, &apiError{Status: http.StatusUnprocessableEntity, Code: "validation_failed", Message: "The range is not valid.", Fields: errs}
	}
	o, err := s.store.Overview(c.Request().Context(), q.From, q.To, q.Interval, loc)
	return q, o, err
}

// costLineJSON is what a campaign, category or month sent and cost.
type costLineJSON struct {
	ID   int64  `json:"id,omitempty"`
	Name string `json:"name"`
	Sent int    `json:"sent"`
	// Cost is sent × the relay's price for 1,000; priced is false when a
	// relay without a price sent some of them, left out of the cost.
	Cost   float64 `json:"cost"`
	Priced bool    `json:"priced"`
}

// costsJSON is what was sent in a range, and its estimated cost.
type costsJSON struct {
	From       time.Time      `json:"from"`
	To         time.Time      `json:"to"`
	ByCampaign []costLineJSON `json:"by_campaign"`
	ByCategory []costLineJSON `json:"by_category"`
	ByMonth    []costLineJSON `json:"by_month"`
}

// costsAsked reads from and to (dates in the organisation's timezone, the
// last included, or RFC 3339 times; by default the twelve months to now)
// and estimates what was sent in them cost.
func (s *Server) costsAsked(c *echo.Context) (costsJSON, error) {
	loc := s.location()
	now := s.store.Now().In(loc)
	from := time.Date(now.Year(), now.Month()-11, 1, 0, 0, 0, 0, loc)
	to := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, loc)
	errs := map[string]string{}
	for name, dst := range map[string]*time.Time{"from": &from, "to": &to} {
		if v := c.QueryParam(name); v != "" {
			t, ok := parseDay(v, loc, name == "to")
			if !ok {
				errs[name] = "Give a date like 2026-05-01, or a time like 2026-05-01T09:00:00Z."
			}
			*dst = t
		}
	}
	if len(errs) == 0 && !from.Before(to) {
		errs["to"] = "Must come after the start."
	}
	if len(errs) > 0 {
		return costsJSON{}, &store.ValidationError{Fields: errs}
	}
	cs, err := s.out.Costs(c.Request().Context(), from, to, loc)
	if err != nil {
		return costsJSON{}, err
	}
	lines := func(ls []store.CostLine) []costLineJSON {
		out := []costLineJSON{}
		for _, l := range ls {
			out = append(out, costLineJSON{ID: l.ID, Name: l.Name, Sent: l.Sent, Cost: math.Round(l.Cost*10000) / 10000, Priced: l.Priced})
		}
		return out
	}
	return costsJSON{From: from, To: to, ByCampaign: lines(cs.ByCampaign), ByCategory: lines(cs.ByCategory), ByMonth: lines(cs.ByMonth)}, nil
}

// apiReportCosts estimates what campaigns, categories and months cost.
func (s *Server) apiReportCosts(c *echo.Context) error {
	out, err := s.costsAsked(c)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, out)
}
