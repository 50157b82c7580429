package web

import (
	"context"
	"errors"
	"strconv"

	"herald/mailer"
	"herald/store"
	"herald/templates"
)

// sentTracking is what a campaign's messages tracked: as frozen when it
// started (the install's switches included), or as set while a draft.
func (s *Server) sentTracking(ctx context.Context, x store.Campaign) (mailer.Tracking, error) {
	content, err := s.out.SentContent(ctx, x.ID)
	if errors.Is(err, store.ErrNotFound) {
		return mailer.Tracking{Opens: x.Tracking.Opens, Clicks: x.Tracking.Clicks}, nil
	}
	return content.Tracking, err
}

// reportTracking explains what a campaign's report cannot show, and fixes
// its figures so that nothing untracked reads as a zero.
func reportTracking(t mailer.Tracking, r store.CampaignReport, live *templates.CampaignReportLive) templates.ReportTracking {
	out := templates.ReportTracking{WhoOpened: t.Opens && !t.Private}
	set := func(figs []templates.Figure, label, value, note string) {
		for i := range figs {
			if figs[i].Label == label {
				figs[i].Value, figs[i].Note = value, note
			}
		}
	}
	switch {
	case !t.Opens && !t.Clicks:
		out.Notes = append(out.Notes, "This campaign tracked neither opens nor clicks: its open and click figures were not measured, rather than zero.")
	case !t.Opens:
		out.Notes = append(out.Notes, "This campaign did not track opens: its open figures were not measured, rather than zero.")
	case !t.Clicks:
		out.Notes = append(out.Notes, "This campaign did not track clicks: its click figures were not measured, rather than zero.")
	}
	if !t.Opens {
		set(live.Funnel, "Opened", "—", "not tracked")
		set(live.Rates, "Open rate", "—", "not tracked")
		set(live.Rates, "Click-to-open", "—", "not tracked")
	}
	if !t.Clicks {
		set(live.Funnel, "Clicked", "—", "not tracked")
		set(live.Rates, "Click rate", "—", "not tracked")
		set(live.Rates, "Click-to-open", "—", "not tracked")
	}
	if t.Private && (t.Opens || t.Clicks) {
		out.Notes = append(out.Notes, "This campaign was tracked in privacy mode: opens and clicks were counted, but not who made them, "+
			"so the figures are all opens and clicks rather than unique ones, there are no rates, and no list of who opened or clicked.")
		if t.Opens {
			set(live.Funnel, "Opened", strconv.Itoa(r.Counts.Opens), "all opens, not unique")
			set(live.Rates, "Open rate", "—", "no unique opens in privacy mode")
			set(live.Rates, "Click-to-open", "—", "no unique opens in privacy mode")
		}
		if t.Clicks {
			set(live.Funnel, "Clicked", strconv.Itoa(r.Counts.Clicks), "all clicks, not unique")
			set(live.Rates, "Click rate", "—", "no unique clicks in privacy mode")
		}
	}
	return out
}
