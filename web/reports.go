package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

// overviewQuery is the range and interval an overview was asked for.
type overviewQuery struct {
	From, To         time.Time
	FromText, ToText string
	Interval         string
}

// overviewQueryOf reads from, to (dates, the last one included, or RFC
// 3339 times) and interval; by default the 30 days to now, day by day, in
// now's location, the organisation's timezone.
func overviewQueryOf(c *echo.Context, now time.Time) (overviewQuery, map[string]string) {
	loc := now.Location()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	q := overviewQuery{FromText: c.QueryParam("from"), ToText: c.QueryParam("to"), Interval: c.QueryParam("interval")}
	if q.FromText == "" {
		q.FromText = today.AddDate(0, 0, -29).Format(time.DateOnly)
	}
	if q.ToText == "" {
		q.ToText = today.Format(time.DateOnly)
	}
	if q.Interval == "" {
		q.Interval = store.IntervalDay
	}
	errs := map[string]string{}
	var ok bool
	if q.From, ok = parseDay(q.FromText, loc, false); !ok {
		errs["from"] = "Give a date like 2026-05-01, or a time like 2026-05-01T09:00:00Z."
	}
	if q.To, ok = parseDay(q.ToText, loc, true); !ok {
		errs["to"] = "Give a date like 2026-05-31, or a time like 2026-05-31T18:00:00Z."
	}
	if len(errs) == 0 && !q.From.Before(q.To) {
		errs["to"] = "Must come after the start."
	}
	if _, err := store.Spans(q.From, q.To, q.Interval, loc); errors.Is(err, store.ErrTooManyIntervals) && len(errs) == 0 {
		errs["interval"] = "Too many " + q.Interval + "s: at most " + strconv.Itoa(store.MaxIntervals) + "; choose a longer interval or a shorter range."
	} else if err != nil && !errors.Is(err, store.ErrTooManyIntervals) {
		errs["interval"] = "Choose hour, day, week or month."
	}
	return q, errs
}

// parseDay reads a date in loc (the day's start, or with end the next
// day's, as the range includes it) or an RFC 3339 time.
func parseDay(v string, loc *time.Location, end bool) (time.Time, bool) {
	if t, err := time.ParseInLocation(time.DateOnly, v, loc); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, true
	}
	t, err := time.Parse(time.RFC3339, v)
	return t, err == nil
}

func (q overviewQuery) encode() string {
	return url.Values{"from": {q.FromText}, "to": {q.ToText}, "interval": {q.Interval}}.Encode()
}

var intervalOptions = []templates.Option{{Value: store.IntervalHour, Label: "Hour"}, {Value: store.IntervalDay, Label: "Day"},
	{Value: store.IntervalWeek, Label: "Week"}, {Value: store.IntervalMonth, Label: "Month"}}

func (s *Server) reportsShow(c *echo.Context) error {
	loc := s.location()
	q, errs := overviewQueryOf(c, s.store.Now().In(loc))
	p := templates.ReportsProps{Shell: s.shell(c, "reports", "Reports"), From: q.FromText, To: q.ToText, Interval: q.Interval,
		Intervals: intervalOptions, Errors: errs, Zone: loc.String(), Query: q.encode()}
	if len(errs) > 0 {
		return s.render(c, http.StatusUnprocessableEntity, templates.ReportsPage(p))
	}
	o, err := s.store.Overview(c.Request().Context(), q.From, q.To, q.Interval, loc)
	if err != nil {
		return err
	}
	t := o.Totals
	p.Totals = []templates.Figure{{Label: "Sent", Value: strconv.Itoa(t.Sent)}, {Label: "Delivered", Value: strconv.Itoa(t.DeliveredCount())},
		{Label: "Unique opens", Value: strconv.Itoa(t.UniqueHumanOpens)}, {Label: "Unique clicks", Value: strconv.Itoa(t.UniqueHumanClicks)},
		{Label: "Bounces", Value: strconv.Itoa(t.HardBounces + t.SoftBounces)}, {Label: "Complaints", Value: strconv.Itoa(t.Complaints)},
		{Label: "Unsubscribes", Value: strconv.Itoa(t.Unsubscribes)}, {Label: "New contacts", Value: strconv.Itoa(o.NewContacts)},
		{Label: "Net list growth", Value: strconv.Itoa(o.ListGrowth)}}
	points := o.Series()
	p.Chart = opensClicksChart("overview-chart", points, false, func(int) string { return q.Interval }, loc)
	p.Campaigns = campaignRatesTable(o.Campaigns)
	return s.render(c, http.StatusOK, templates.ReportsPage(p))
}

// campaignRatesTable lists campaigns with their counts and rates.
func campaignRatesTable(rows []store.CampaignRow) templates.ReportTable {
	t := templates.ReportTable{Head: []string{"Campaign", "Sent", "Delivered", "Open rate", "Click rate", "Bounce rate", "Complaint rate", "Unsubscribe rate"},
		Empty: "No campaign started in this period."}
	for _, r := range rows {
		rt := store.RatesOf(r.Counts, false)
		t.Rows = append(t.Rows, templates.ReportRow{Link: "/campaigns/" + itoa(r.ID) + "/report", Cells: []string{r.Name,
			strconv.Itoa(r.Counts.Sent), strconv.Itoa(r.Counts.DeliveredCount()), pct(rt.Open), pct(rt.Click), pct(rt.Bounce),
			pct(rt.Complaint), pct(rt.Unsubscribe)}})
	}
	return t
}

// reportsExport writes the overview as CSV, one row an interval, or JSON
// as the API answers it.
func (s *Server) reportsExport(format string) echo.HandlerFunc {
	return func(c *echo.Context) error {
		q, o, err := s.overviewAsked(c)
		if err != nil {
			return err
		}
		name := "herald-report-" + q.FromText + "-" + q.ToText
		if format == "json" {
			c.Response().Header().Set("Content-Disposition", `attachment; filename="`+name+`.json"`)
			return c.JSON(http.StatusOK, toOverviewJSON(o))
		}
		w := csvDownload(c, name+".csv")
		w.Write([]string{"start", "sent", "delivered", "opens", "unique_opens", "human_opens", "unique_human_opens", "clicks", "unique_clicks",
			"human_clicks", "unique_human_clicks", "hard_bounces", "soft_bounces", "complaints", "unsubscribes", "new_contacts", "list_growth"})
		loc := s.location()
		for _, p := range o.Points {
			n := p.Counts
			row := []string{p.Start.In(loc).Format(time.RFC3339)}
			for _, v := range []int{n.Sent, n.DeliveredCount(), n.Opens, n.UniqueOpens, n.HumanOpens, n.UniqueHumanOpens, n.Clicks, n.UniqueClicks,
				n.HumanClicks, n.UniqueHumanClicks, n.HardBounces, n.SoftBounces, n.Complaints, n.Unsubscribes, p.NewContacts, p.ListGrowth} {
				row = append(row, strconv.Itoa(v))
			}
			w.Write(row)
		}
		w.Flush()
		return w.Error()
	}
}

// reportsCosts shows what sending cost in a range.
func (s *Server) reportsCosts(c *echo.Context) error {
	p := templates.CostsProps{From: c.QueryParam("from"), To: c.QueryParam("to"), Priced: true}
	out, err := s.costsAsked(c)
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		p.Errors = ve.Fields
	} else if err != nil {
		return err
	}
	if p.From == "" && err == nil {
		p.From = out.From.Format(time.DateOnly)
	}
	if p.To == "" && err == nil {
		p.To = out.To.Add(-time.Second).Format(time.DateOnly)
	}
	rows := func(ls []costLineJSON) []templates.CostRow {
		var out []templates.CostRow
		for _, l := range ls {
			name := l.Name
			if name == "" {
				name = "(no category)"
			}
			p.Priced = p.Priced && l.Priced
			out = append(out, templates.CostRow{Name: name, Sent: l.Sent, Cost: costText(l.Cost)})
		}
		return out
	}
	p.ByMonth, p.ByCampaign, p.ByCategory = rows(out.ByMonth), rows(out.ByCampaign), rows(out.ByCategory)
	p.Shell = s.shell(c, "reports", "Costs")
	status := http.StatusOK
	if len(p.Errors) > 0 {
		status = http.StatusUnprocessableEntity
	}
	return s.render(c, status, templates.CostsPage(p))
}

// costText writes a cost to the cent, or to the hundredth of a cent when
// it is less than one.
func costText(c float64) string {
	if c < 1 {
		return strconv.FormatFloat(c, 'f', 4, 64)
	}
	return strconv.FormatFloat(c, 'f', 2, 64)
}
