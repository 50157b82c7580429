package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

// recipientFilters are the choices of who opened or clicked, in order.
var recipientFilters = []templates.Option{
	{Value: store.FilterOpened, Label: "Opened"}, {Value: store.FilterClicked, Label: "Clicked"},
	{Value: store.FilterNotOpened, Label: "Did not open"}, {Value: store.FilterBounced, Label: "Bounced"},
	{Value: store.FilterUnsubscribed, Label: "Unsubscribed"},
}

// reportQuery is what a campaign report was asked for.
type reportQuery struct {
	all    bool
	filter string
	after  int64
}

func reportQueryOf(c *echo.Context) reportQuery {
	q := reportQuery{all: c.QueryParam("all") == "1", filter: c.QueryParam("filter")}
	if _, ok := store.RecipientFilters[q.filter]; !ok {
		q.filter = store.FilterOpened
	}
	q.after, _ = strconv.ParseInt(c.QueryParam("after"), 10, 64)
	return q
}

func (q reportQuery) url(id int64, suffix string) string {
	v := url.Values{}
	if q.all {
		v.Set("all", "1")
	}
	if q.filter != store.FilterOpened {
		v.Set("filter", q.filter)
	}
	if q.after > 0 {
		v.Set("after", strconv.FormatInt(q.after, 10))
	}
	path := "/campaigns/" + itoa(id) + suffix
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

const recipientsPerPage = 100

func (s *Server) campaignReport(c *echo.Context) error {
	ctx := c.Request().Context()
	x, err := s.pathCampaign(c)
	if err != nil {
		return err
	}
	q := reportQueryOf(c)
	live, tracking, err := s.reportLive(ctx, x, q.all)
	if err != nil {
		return err
	}
	toggle := q
	toggle.all, toggle.after = !q.all, 0
	csvQuery := q
	csvQuery.after = 0
	p := templates.CampaignReportProps{Tracking: tracking, Shell: s.shell(c, "campaigns", x.Name+": report"), ID: x.ID, Name: x.Name, Status: x.Status,
		All: q.all, Toggle: toggle.url(x.ID, "/report"), Live: live, Filter: q.filter, Filters: recipientFilters,
		CSV: csvQuery.url(x.ID, "/report/recipients.csv")}
	if err := s.reportBreakdowns(ctx, x, q.all, &p); err != nil {
		return err
	}
	if x.Recipients <= inlineBreakdowns || c.QueryParam("breakdowns") == "1" {
		b, err := s.breakdowns(ctx, x, q.all)
		if err != nil {
			return err
		}
		p.Breakdowns = &b
	} else {
		p.BreakdownsURL = q.url(x.ID, "/report/breakdowns")
		show := q.url(x.ID, "/report")
		if strings.Contains(show, "?") {
			p.ShowURL = show + "&breakdowns=1"
		} else {
			p.ShowURL = show + "?breakdowns=1"
		}
	}
	rs, err := s.store.CampaignRecipients(ctx, x.ID, q.filter, q.all, q.after, recipientsPerPage)
	if err != nil {
		return err
	}
	p.Recipients = recipientTable(rs, s.location())
	if len(rs) == recipientsPerPage {
		next := q
		next.after = rs[len(rs)-1].SendID
		p.Next = next.url(x.ID, "/report") + "#recipients"
	}
	return s.render(c, http.StatusOK, templates.CampaignReportPage(p))
}

// campaignReportLive is the funnel, rates and chart alone, for their poll.
func (s *Server) campaignReportLive(c *echo.Context) error {
	x, err := s.pathCampaign(c)
	if err != nil {
		return err
	}
	live, _, err := s.reportLive(c.Request().Context(), x, reportQueryOf(c).all)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.CampaignReportLiveCard(live))
}

func (s *Server) reportLive(ctx context.Context, x store.Campaign, all bool) (templates.CampaignReportLive, templates.ReportTracking, error) {
	var none templates.ReportTracking
	r, err := s.store.CampaignReport(ctx, x.ID, all)
	if err != nil {
		return templates.CampaignReportLive{}, none, err
	}
	tracked, err := s.sentTracking(ctx, x)
	if err != nil {
		return templates.CampaignReportLive{}, none, err
	}
	loc := s.location()
	points, err := s.store.CampaignSeries(ctx, x.ID, x.StartedAt, loc)
	if err != nil {
		return templates.CampaignReportLive{}, none, err
	}
	if tracked.Private {
		// No unique counts in privacy mode: the chart shows every one.
		for i := range points {
			c := &points[i].Counts
			c.UniqueOpens, c.UniqueHumanOpens, c.UniqueClicks, c.UniqueHumanClicks = c.Opens, c.HumanOpens, c.Clicks, c.HumanClicks
		}
	}
	f, u := r.Funnel, unmeasuredOf(tracked)
	live := templates.CampaignReportLive{Rates: rateFigures(r.Rates, u), Funnel: []templates.Figure{
		{Label: "Recipients", Value: strconv.Itoa(f.Recipients)}, {Label: "Sent", Value: strconv.Itoa(f.Sent)},
		{Label: "Delivered", Value: strconv.Itoa(f.Delivered)},
		engagedFigure("Opened", "opens", f.Opened, r.Counts.Opens, tracked.Opens, u.opens),
		engagedFigure("Clicked", "clicks", f.Clicked, r.Counts.Clicks, tracked.Clicks, u.clicks),
		{Label: "Bounced", Value: strconv.Itoa(f.HardBounced + f.SoftBounced), Note: strconv.Itoa(f.HardBounced) + " hard, " + strconv.Itoa(f.SoftBounced) + " soft"},
		{Label: "Complained", Value: strconv.Itoa(f.Complained)}, {Label: "Unsubscribed", Value: strconv.Itoa(f.Unsubscribed)},
	}}
	live.Chart = opensClicksChart("report-chart", points, all, func(i int) string {
		if i < 48 {
			return store.IntervalHour
		}
		return store.IntervalDay
	}, loc)
	if x.Status == store.CampaignSending {
		live.Refresh = reportQuery{all: all, filter: store.FilterOpened}.url(x.ID, "/report/live")
	}
	return live, trackingNotes(tracked), nil
}

// campaignReportCSV exports every recipient the filter picks.
func (s *Server) campaignReportCSV(c *echo.Context) error {
	ctx := c.Request().Context()
	x, err := s.pathCampaign(c)
	if err != nil {
		return err
	}
	q := reportQueryOf(c)
	w := csvDownload(c, "campaign-"+itoa(x.ID)+"-"+q.filter+".csv")
	w.Write([]string{"email", "first_name", "last_name", "opens", "clicks", "opened_at", "clicked_at", "bounce", "unsubscribed"})
	for after := int64(0); ; {
		rs, err := s.store.CampaignRecipients(ctx, x.ID, q.filter, q.all, after, 1000)
		if err != nil {
			return err
		}
		for _, r := range rs {
			w.Write([]string{cell(r.Email), cell(r.FirstName), cell(r.LastName), strconv.Itoa(r.Opens), strconv.Itoa(r.Clicks), csvTime(r.OpenedAt),
				csvTime(r.ClickedAt), r.Bounce, strconv.FormatBool(r.Unsubscribed)})
		}
		if len(rs) < 1000 {
			break
		}
		after = rs[len(rs)-1].SendID
	}
	w.Flush()
	return w.Error()
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// campaignNotOpened makes a draft for the recipients who did not open.
func (s *Server) campaignNotOpened(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	draft, err := s.store.ResendToNotOpened(c.Request().Context(), id)
	if err != nil {
		return s.campaignFlashError(c, id, err)
	}
	s.flash(c, "success", "This draft goes to a new list of those who did not open. Check it and send it when ready.")
	return redirect(c, "/campaigns/"+itoa(draft.ID))
}
