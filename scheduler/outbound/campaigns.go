package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"herald/mailer"
	"herald/store"
)

// Send checks what a campaign will send, freezes it, sets the campaign
// sending and wakes the dispatcher. What stops it comes back as field
// errors: sender, public base URL, relay, audience, subject or body.
func (s *Service) Send(ctx context.Context, id int64) error {
	if err := s.start(ctx, id); err != nil {
		return err
	}
	s.dispatcher.Wake()
	return nil
}

// start freezes a draft or scheduled campaign's content and sets it
// sending, and archives it for the public lists it goes to.
func (s *Service) start(ctx context.Context, id int64) error {
	x, err := s.st.Campaign(ctx, id)
	if err != nil {
		return err
	}
	if !x.Editable() {
		return &store.ValidationError{Fields: map[string]string{"status": "The campaign is " + x.Status + "; only a draft or scheduled campaign can be sent."}}
	}
	if x.Recurrence != nil {
		return &store.ValidationError{Fields: map[string]string{"recurrence": "A recurring campaign sends a copy of itself at each time of its schedule: start its schedule instead."}}
	}
	content, compiled, err := s.checkCampaign(ctx, x, false)
	if err != nil {
		return err
	}
	frozen, err := json.Marshal(content)
	if err != nil {
		return err
	}
	if x.AB != nil {
		if err := s.freezeVariants(ctx, x); err != nil {
			return err
		}
	}
	if _, err = s.st.StartCampaign(ctx, id, string(frozen)); err != nil {
		return err
	}
	s.archive(ctx, x, content.Name, compiled)
	return nil
}

// archive adds a started campaign to the archive of each public list it
// goes to, rendered for nobody in particular: no name, and links that lead
// to the archive rather than to anyone's preferences.
func (s *Service) archive(ctx context.Context, x store.Campaign, name string, compiled *mailer.Compiled) {
	g := s.general(ctx)
	base := strings.TrimRight(g.BaseURL, "/")
	for _, listID := range x.ListIDs {
		l, err := s.st.ListHead(ctx, listID)
		if err != nil || l.Visibility != store.VisibilityPublic {
			continue
		}
		archive := base + "/archive/" + strconv.FormatInt(l.ID, 10)
		r, err := compiled.Render(mailer.Data{Campaign: mailer.CampaignData{Name: name}, Org: orgOf(g),
			Links: mailer.Links{Unsubscribe: archive, Preferences: archive, WebView: archive}})
		if err != nil {
			s.log.Warn("campaign not archived: it does not render without a recipient", "campaign", x.ID, "err", err)
			continue
		}
		if _, err := s.st.AddArchiveEntry(ctx, store.ArchiveEntry{ListID: l.ID, Title: r.Subject, HTML: r.HTML, Text: r.Text}); err != nil {
			s.log.Error("archiving a campaign", "campaign", x.ID, "list", l.ID, "err", err)
		}
	}
}

// Schedule sets a draft or scheduled campaign to start at sendAt: RFC 3339
// with its offset, or a local "2026-05-01T09:00" in the organisation's
// timezone. What would stop it then is refused now, as Send would.
func (s *Service) Schedule(ctx context.Context, id int64, sendAt string) (store.Campaign, error) {
	x, err := s.st.Campaign(ctx, id)
	if err != nil {
		return x, err
	}
	if x.Recurrence != nil {
		return x, &store.ValidationError{Fields: map[string]string{"recurrence": "A recurring campaign sends on its own schedule: start its schedule instead."}}
	}
	at, err := s.ParseSendAt(ctx, sendAt)
	if err != nil {
		return x, err
	}
	if _, _, err := s.checkCampaign(ctx, x, false); err != nil {
		return x, err
	}
	return s.st.ScheduleCampaign(ctx, id, at)
}

// Location is the organisation's timezone, in which people give times.
func (s *Service) Location(ctx context.Context) *time.Location {
	return s.general(ctx).Location()
}

// ParseSendAt reads a time to send: RFC 3339 with its offset, or a local
// "2026-05-01T09:00" in the organisation's timezone.
func (s *Service) ParseSendAt(ctx context.Context, v string) (time.Time, error) {
	return parseSendAt(strings.TrimSpace(v), s.Location(ctx))
}

func parseSendAt(v string, loc *time.Location) (time.Time, error) {
	if v == "" {
		return time.Time{}, &store.ValidationError{Fields: map[string]string{"send_at": "Choose the day and time to start it."}}
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05"} {
		t, err := time.ParseInLocation(layout, v, loc)
		if err != nil {
			continue
		}
		// Go's parser lets fractions of a second and one-digit hours
		// through; and a time the clocks skip, when they go forward, moves
		// an hour. Only what reads back the same is that time.
		if t.Format(layout) != v {
			if wall, _ := time.Parse(layout, v); wall.Format(layout) == v {
				return time.Time{}, &store.ValidationError{Fields: map[string]string{"send_at": v + " does not happen in " + loc.String() +
					": the clocks go forward then. Choose a time an hour later or earlier."}}
			}
			break
		}
		return t, nil
	}
	return time.Time{}, &store.ValidationError{Fields: map[string]string{"send_at": "Give a time like 2026-05-01T09:00 (in your timezone, " + loc.String() + ") or 2026-05-01T09:00:00+02:00."}}
}

// Change pauses, resumes, cancels or unschedules a campaign (the actions
// of store.ChangeCampaign); a resumed campaign goes on at once.
func (s *Service) Change(ctx context.Context, id int64, action string) (store.Campaign, error) {
	x, err := s.st.ChangeCampaign(ctx, id, action)
	if err == nil && x.Status == store.CampaignSending {
		s.dispatcher.Wake()
	}
	return x, err
}

// ResendFailed queues a campaign's failed recipients again, except hard
// bounces and anyone since suppressed or unsubscribed, and says how many.
func (s *Service) ResendFailed(ctx context.Context, id int64) (int, error) {
	n, err := s.st.ResendFailed(ctx, id)
	if n > 0 {
		s.dispatcher.Wake()
	}
	return n, err
}

// StartDue starts the scheduled campaigns whose time has come; a cron job
// calls it every few seconds. One that cannot start, because something it
// needs went since it was scheduled (its relay, its audience, its subject),
// becomes a draft again with the reason on its page and the dashboard, and
// the owners are told, rather than wait at its time for ever.
func (s *Service) StartDue(ctx context.Context) error {
	cs, err := s.st.DueCampaigns(ctx)
	if err != nil {
		return err
	}
	var errs []error
	started := false
	for _, c := range cs {
		err := s.start(ctx, c.ID)
		var ve *store.ValidationError
		if errors.As(err, &ve) {
			if now, err := s.st.CampaignStatus(ctx, c.ID); err == nil && now != store.CampaignScheduled {
				continue // started (or changed) by someone else meanwhile
			}
		}
		switch {
		case errors.As(err, &ve):
			reason := fmt.Sprintf("Campaign %q was due at %s but could not start: %s Fix it, then schedule or send it again.",
				c.Name, c.SendAt.In(s.Location(ctx)).Format("2 Jan 2006 15:04 MST"), fieldText(ve))
			if err := s.st.MissSchedule(ctx, c.ID, reason); err != nil {
				errs = append(errs, err)
				continue
			}
			s.log.Warn("scheduled campaign could not start", "campaign", c.ID, "reason", reason)
			s.NotifyOwners(ctx, fmt.Sprintf("Campaign %q could not start", c.Name), reason)
		case err != nil:
			errs = append(errs, fmt.Errorf("campaign %d %q: %w", c.ID, c.Name, err))
		default:
			s.log.Info("scheduled campaign started", "campaign", c.ID)
			started = true
		}
	}
	if started {
		s.dispatcher.Wake()
	}
	return errors.Join(errs...)
}

// fieldText is what a validation error says, its fields' messages in the
// order of their names, for a person to read.
func fieldText(ve *store.ValidationError) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(ve.Fields)) {
		out = append(out, ve.Fields[k])
	}
	return strings.Join(out, " ")
}
