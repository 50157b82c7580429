package web

import (
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
