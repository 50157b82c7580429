package web

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

// A campaign's A/B test and repeat schedule in the admin: the report card
// and picking a winner, and stopping a series. They call the outbound
// service, as the API does.

// abView is a started test's report for the campaign's page; nil when
// the campaign is not a test.
func (s *Server) abView(ctx context.Context, id int64) (*templates.ABReport, error) {
	r, err := s.abReport(ctx, id)
	if err != nil || r == nil {
		return nil, err
	}
	v := &templates.ABReport{Status: r.Status, Metric: strings.ReplaceAll(r.Metric, "_", "-"), Verdict: r.Verdict, Test: r.Test, Best: r.Best, Decided: r.Winner != nil}
	if r.Winner != nil {
		v.Winner = *r.Winner
	}
	if r.DecideAt != nil {
		v.DecideAt = r.DecideAt.In(s.location()).Format("Mon 2 Jan 15:04")
	}
	compared := map[int]abComparisonJSON{}
	for _, c := range r.Comparisons {
		compared[c.Variant] = c
	}
	for _, x := range r.Variants {
		row := templates.ABVariantRow{Name: x.Name, Changes: variantChanges(x.Changes), Sent: x.Sent, Opened: x.Opened, Clicked: x.Clicked,
			Rate: fmt.Sprintf("%.1f%%", 100*x.Rate)}
		if c, ok := compared[x.Variant]; ok {
			row.Enough, row.Significant = c.Enough, c.Significant
			if c.P != nil {
				row.P = fmt.Sprintf("%.3g", *c.P)
			}
		}
		v.Variants = append(v.Variants, row)
	}
	return v, nil
}

// variantChanges says what a variant changes, in words.
func variantChanges(v store.ABVariant) string {
	var out []string
	for _, f := range []struct{ label, v string }{{"subject", v.Subject}, {"preheader", v.Preheader}, {"from", v.FromName}} {
		if f.v != "" {
			out = append(out, f.label+" “"+f.v+"”")
		}
	}
	if v.TemplateID != 0 {
		out = append(out, fmt.Sprintf("template %d", v.TemplateID))
	}
	if len(out) == 0 {
		return "the campaign as written"
	}
	return strings.Join(out, ", ")
}

// campaignABWinner picks a test's winner from the campaign's page.
func (s *Server) campaignABWinner(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	variant, err := strconv.Atoi(c.FormValue("variant"))
	if err == nil {
		_, err = s.out.PickWinner(c.Request().Context(), id, variant, "by hand")
	}
	var ve *store.ValidationError
	switch {
	case errors.As(err, &ve):
		s.flash(c, "error", validationText(err))
	case err != nil:
		s.flash(c, "error", "Pick a variant from the report.")
	default:
		s.flash(c, "success", "Variant "+string(rune('A'+variant))+" goes to the rest of the audience now.")
	}
	return redirect(c, "/campaigns/"+itoa(id))
}

// campaignSeriesStop stops a recurring campaign's schedule.
func (s *Server) campaignSeriesStop(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if _, err := s.out.StopSeries(c.Request().Context(), id); err != nil {
		var ve *store.ValidationError
		if !errors.As(err, &ve) {
			return err
		}
		s.flash(c, "error", validationText(err))
	} else {
		s.flash(c, "success", "The schedule has stopped; the campaign is a draft again.")
	}
	return redirect(c, "/campaigns/"+itoa(id))
}
