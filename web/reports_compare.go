package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

// maxCompared caps how many campaigns one comparison sets side by side.
const maxCompared = 10

// reportsCompare sets the rates of the ?ids= campaigns side by side, and
// offers the recent ones to choose from.
func (s *Server) reportsCompare(c *echo.Context) error {
	ctx := c.Request().Context()
	var ids []int64
	// ids=1&ids=2 from the form, or ids=1,2 typed by hand.
	for _, vs := range c.QueryParams()["ids"] {
		for v := range strings.SplitSeq(vs, ",") {
			if id, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && id > 0 && len(ids) < maxCompared {
				ids = append(ids, id)
			}
		}
	}
	recent, err := s.store.RecentCampaigns(ctx, 20)
	if err != nil {
		return err
	}
	rows, err := s.store.CampaignRows(ctx, ids)
	if err != nil {
		return err
	}
	p := templates.CompareProps{Shell: s.shell(c, "reports", "Compare campaigns")}
	chosen := map[int64]bool{}
	for _, id := range ids {
		chosen[id] = true
	}
	for _, r := range recent {
		p.Recent = append(p.Recent, templates.CompareChoice{ID: r.ID, Name: r.Name, Checked: chosen[r.ID]})
	}
	p.Rates, p.Chart = compareRates(rows)
	return s.render(c, http.StatusOK, templates.ComparePage(p))
}

// compareRates tabulates and charts campaigns' rates.
func compareRates(rows []store.CampaignRow) (templates.ReportTable, templates.ChartProps) {
	t := templates.ReportTable{Head: []string{"Campaign", "Sent", "Open rate", "Click rate", "Click-to-open", "Bounce rate", "Complaint rate",
		"Unsubscribe rate"}}
	ch := templates.ChartProps{ID: "compare-chart", Title: "Open and click rates",
		Series: []templates.ChartSeries{{Name: "Open rate", Class: "chart-1"}, {Name: "Click rate", Class: "chart-2"}}}
	for _, r := range rows {
		rt := store.RatesOf(r.Counts, false)
		t.Rows = append(t.Rows, templates.ReportRow{Link: "/campaigns/" + itoa(r.ID) + "/report", Cells: []string{r.Name,
			strconv.Itoa(r.Counts.Sent), pct(rt.Open), pct(rt.Click), pct(rt.ClickToOpen), pct(rt.Bounce), pct(rt.Complaint), pct(rt.Unsubscribe)}})
		ch.Labels = append(ch.Labels, r.Name)
		for i, v := range []float64{rt.Open, rt.Click} {
			ch.Series[i].Values = append(ch.Series[i].Values, v)
			ch.Series[i].Texts = append(ch.Series[i].Texts, pct(v))
		}
	}
	return t, ch
}
