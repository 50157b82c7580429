package web

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v5"

	"herald/store"
)

// campaignReportJSON is a campaign's report: totals, rates, funnel and
// its opens and clicks over time.
type campaignReportJSON struct {
	ID     int64        `json:"id"`
	Name   string       `json:"name"`
	Status string       `json:"status"`
	Funnel store.Funnel `json:"funnel"`
	// Tracked is what its messages tracked when it went out, the install's
	// switches included: figures of what was not tracked are not zeros.
	Tracked trackedJSON `json:"tracked"`
	countsJSON
	Series []pointJSON `json:"series"`
}

type trackedJSON struct {
	Opens   bool `json:"opens"`
	Clicks  bool `json:"clicks"`
	Private bool `json:"private"`
}

// apiCampaignReport answers the report; ?all=1 counts machine opens and
// clicks in the funnel.
func (s *Server) apiCampaignReport(c *echo.Context) error {
	ctx := c.Request().Context()
	x, err := s.pathCampaign(c)
	if err != nil {
		return err
	}
	r, err := s.store.CampaignReport(ctx, x.ID, c.QueryParam("all") == "1")
	if err != nil {
		return err
	}
	points, err := s.store.CampaignSeries(ctx, x.ID, x.StartedAt, s.location())
	if err != nil {
		return err
	}
	tracked, err := s.sentTracking(ctx, x)
	if err != nil {
		return err
	}
	out := campaignReportJSON{ID: x.ID, Name: x.Name, Status: x.Status, Funnel: r.Funnel, countsJSON: toCountsJSON(r.Counts), Series: []pointJSON{},
		Tracked: trackedJSON{Opens: tracked.Opens, Clicks: tracked.Clicks, Private: tracked.Private}}
	for _, p := range points {
		out.Series = append(out.Series, pointJSON{Start: p.Start, Counts: toCountsJSON(p.Counts)})
	}
	return apiData(c, http.StatusOK, out)
}

func (s *Server) apiCampaignLinks(c *echo.Context) error {
	x, err := s.pathCampaign(c)
	if err != nil {
		return err
	}
	links, err := s.store.CampaignLinks(c.Request().Context(), x.ID, store.MaxLinksPerCampaign)
	if err != nil {
		return err
	}
	return apiList(c, links, meta{Total: len(links), Page: 1, PerPage: len(links)})
}

func (s *Server) apiCampaignDomains(c *echo.Context) error {
	x, err := s.pathCampaign(c)
	if err != nil {
		return err
	}
	domains, err := s.store.CampaignDomains(c.Request().Context(), x.ID, c.QueryParam("all") == "1")
	if err != nil {
		return err
	}
	return apiList(c, domains, meta{Total: len(domains), Page: 1, PerPage: len(domains)})
}

// apiCampaignEvents pages through a campaign's events, newest first,
// of one ?type= or all.
func (s *Server) apiCampaignEvents(c *echo.Context) error {
	x, err := s.pathCampaign(c)
	if err != nil {
		return err
	}
	kind := c.QueryParam("type")
	if kind != "" && !slices.Contains(store.ResultKinds, kind) {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "validation_failed", Message: "Unknown event type.",
			Fields: map[string]string{"type": "One of the event types, such as open, click or hard_bounce."}}
	}
	q, err := readList(c, eventList, s.location())
	if err != nil {
		return err
	}
	events, total, err := s.store.CampaignEvents(c.Request().Context(), x.ID, kind, q.Order, q.limit(), q.offset())
	if err != nil {
		return err
	}
	return apiPage(c, q, events, total, func(e store.ResultEvent) int64 { return e.ID })
}
