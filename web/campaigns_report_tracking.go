package web

import (
	"cmp"
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
	t, err := s.out.SentTracking(ctx, x.ID)
	if errors.Is(err, store.ErrNotFound) {
		return mailer.Tracking{Opens: x.Tracking.Opens, Clicks: x.Tracking.Clicks}, nil
	}
	return t, err
}

// unmeasured says, for a campaign's opens and for its clicks, why their
// unique counts (and the rates made of them) are not known: "" when they
// are, "not tracked", or privacy mode.
type unmeasured struct{ opens, clicks string }

func unmeasuredOf(t mailer.Tracking) unmeasured {
	why := func(on bool, what string) string {
		switch {
		case !on:
			return "not tracked"
		case t.Private:
			return "no unique " + what + " in privacy mode"
		}
		return ""
	}
	return unmeasured{opens: why(t.Opens, "opens"), clicks: why(t.Clicks, "clicks")}
}

// engagedFigure is the funnel's opened or clicked figure: the unique
// count, every one in privacy mode, or "—" when not tracked.
func engagedFigure(label, what string, unique, total int, tracked bool, why string) templates.Figure {
	switch {
	case why == "":
		return templates.Figure{Label: label, Value: strconv.Itoa(unique)}
	case tracked:
		return templates.Figure{Label: label, Value: strconv.Itoa(total), Note: "all " + what + ", not unique"}
	}
	return templates.Figure{Label: label, Value: "—", Note: why}
}

// rateFigures are a report's rates, each with its definition, or "—" with
// why where the counts it needs are not known.
func rateFigures(r store.Rates, u unmeasured) []templates.Figure {
	rate := func(label string, v float64, def, why string) templates.Figure {
		if why != "" {
			return templates.Figure{Label: label, Value: "—", Note: why}
		}
		return templates.Figure{Label: label, Value: pct(v), Note: def}
	}
	return []templates.Figure{
		rate("Open rate", r.Open, "unique opens / delivered", u.opens),
		rate("Click rate", r.Click, "unique clicks / delivered", u.clicks),
		rate("Click-to-open", r.ClickToOpen, "unique clicks / unique opens", cmp.Or(u.opens, u.clicks)),
		rate("Bounce rate", r.Bounce, "bounces / (sent + refused)", ""),
		rate("Complaint rate", r.Complaint, "complaints / delivered", ""),
		rate("Unsubscribe rate", r.Unsubscribe, "unsubscribes / delivered", ""),
	}
}

// trackingNotes explains what a campaign's report cannot show, so that
// nothing untracked reads as a zero.
func trackingNotes(t mailer.Tracking) templates.ReportTracking {
	out := templates.ReportTracking{WhoOpened: t.Opens && !t.Private}
	switch {
	case !t.Opens && !t.Clicks:
		out.Notes = append(out.Notes, "This campaign tracked neither opens nor clicks: its open and click figures were not measured, rather than zero.")
	case !t.Opens:
		out.Notes = append(out.Notes, "This campaign did not track opens: its open figures were not measured, rather than zero.")
	case !t.Clicks:
		out.Notes = append(out.Notes, "This campaign did not track clicks: its click figures were not measured, rather than zero.")
	}
	if t.Private && (t.Opens || t.Clicks) {
		out.Notes = append(out.Notes, "This campaign was tracked in privacy mode: opens and clicks were counted, but not who made them, "+
			"so the figures are all opens and clicks rather than unique ones, there are no rates, and no list of who opened or clicked.")
	}
	return out
}
