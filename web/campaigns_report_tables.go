package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

// reportBreakdowns fills a campaign report's tables: links, domains, lists
// and bounces.
func (s *Server) reportBreakdowns(ctx context.Context, x store.Campaign, all bool, p *templates.CampaignReportProps) error {
	links, err := s.store.CampaignLinks(ctx, x.ID, 20)
	if err != nil {
		return err
	}
	p.Links = templates.ReportTable{Head: []string{"Link", "Unique clicks", "Clicks"}, Empty: "No tracked link has been clicked."}
	for _, l := range links {
		u, n := l.UniqueHumanClicks, l.HumanClicks
		if all {
			u, n = l.UniqueClicks, l.Clicks
		}
		p.Links.Rows = append(p.Links.Rows, templates.ReportRow{Cells: []string{l.URL, strconv.Itoa(u), strconv.Itoa(n)}})
	}
	bounces, err := s.store.CampaignBounces(ctx, x.ID)
	if err != nil {
		return err
	}
	p.Bounces = templates.ReportTable{Head: []string{"Cause", "Type", "Count", "Latest reason"}, Empty: "No bounces."}
	for _, b := range bounces {
		kind := "hard"
		if b.Kind == store.ResultSoftBounce {
			kind = "soft"
		}
		reason := b.Reason
		if reason == "" {
			reason = "(no reason given)"
		}
		p.Bounces.Rows = append(p.Bounces.Rows, templates.ReportRow{Cells: []string{b.Category, kind, strconv.Itoa(b.Count), reason}})
	}
	return nil
}

// inlineBreakdowns is the size of campaign whose results by domain and by
// list come with its report page; a larger one's come after it.
const inlineBreakdowns = 50_000

// breakdowns reads a campaign's results by domain and by list.
func (s *Server) breakdowns(ctx context.Context, x store.Campaign, all bool) (templates.ReportBreakdowns, error) {
	domains, err := s.store.CampaignDomains(ctx, x.ID, all)
	if err != nil {
		return templates.ReportBreakdowns{}, err
	}
	lists, err := s.store.CampaignLists(ctx, x, all)
	if err != nil {
		return templates.ReportBreakdowns{}, err
	}
	return templates.ReportBreakdowns{Domains: breakdownTable("Domain", domains, "Nothing sent yet."),
		Lists: breakdownTable("List", lists, "This campaign went to no list, or its lists were deleted.")}, nil
}

// campaignReportBreakdowns is the results by domain and by list alone.
func (s *Server) campaignReportBreakdowns(c *echo.Context) error {
	x, err := s.pathCampaign(c)
	if err != nil {
		return err
	}
	b, err := s.breakdowns(c.Request().Context(), x, reportQueryOf(c).all)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.ReportBreakdownCards(b))
}

func breakdownTable(name string, rows []store.Breakdown, empty string) templates.ReportTable {
	t := templates.ReportTable{Head: []string{name, "Sent", "Delivered", "Opened", "Clicked", "Bounced"}, Empty: empty}
	for _, b := range rows {
		t.Rows = append(t.Rows, templates.ReportRow{Cells: []string{b.Name, strconv.Itoa(b.Sent), strconv.Itoa(b.Delivered),
			strconv.Itoa(b.Opened), strconv.Itoa(b.Clicked), strconv.Itoa(b.Bounced)}})
	}
	return t
}

func recipientTable(rs []store.Recipient, loc *time.Location) templates.ReportTable {
	t := templates.ReportTable{Head: []string{"Email", "Opens", "Clicks", "First opened", "Bounce"}, Empty: "Nobody here."}
	for _, r := range rs {
		opened := ""
		if !r.OpenedAt.IsZero() {
			opened = r.OpenedAt.In(loc).Format("2 Jan 2006 15:04")
		}
		t.Rows = append(t.Rows, templates.ReportRow{Link: "/contacts/" + itoa(r.ContactID),
			Cells: []string{r.Email, strconv.Itoa(r.Opens), strconv.Itoa(r.Clicks), opened, r.Bounce}})
	}
	return t
}
