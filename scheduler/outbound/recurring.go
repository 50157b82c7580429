package outbound

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"herald/store"
)

// NextSend is when a recurring schedule next sends after after, in loc.
// Days, weeks and months go by the wall clock: a time the spring change
// skips sends an hour later, one the autumn change repeats sends once.
func NextSend(r store.Recurrence, after time.Time, loc *time.Location) (time.Time, error) {
	var h, m int
	fmt.Sscanf(r.At, "%d:%d", &h, &m)
	local := after.In(loc)
	switch r.Every {
	case store.RecurDaily, store.RecurWeekly, store.RecurMonthly:
		for i := 0; i < 400; i++ {
			d := time.Date(local.Year(), local.Month(), local.Day()+i, 12, 0, 0, 0, loc)
			if (r.Every == store.RecurWeekly && int(d.Weekday()) != r.Weekday) || (r.Every == store.RecurMonthly && d.Day() != r.Day) {
				continue
			}
			if t := store.WallTime(d.Year(), d.Month(), d.Day(), h, m, loc); t.After(after) {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("%q never comes round", r.Every)
	case store.RecurCron:
	default:
		return time.Time{}, fmt.Errorf("%q is not a schedule", r.Every)
	}
	sched, err := cron.ParseStandard("CRON_TZ=" + loc.String() + " " + r.Cron)
	if err != nil {
		return time.Time{}, &store.ValidationError{Fields: map[string]string{"recurrence.cron": "The schedule cannot be read: " + err.Error()}}
	}
	// The autumn change repeats an hour: a time the wall clock already
	// read (as it sent at after) is not sent again.
	next := sched.Next(after)
	for !next.IsZero() && next.In(loc).Format("2006-01-02 15:04") == after.In(loc).Format("2006-01-02 15:04") {
		next = sched.Next(next)
	}
	if next.IsZero() {
		return next, &store.ValidationError{Fields: map[string]string{"recurrence.cron": "The schedule never comes round."}}
	}
	return next, nil
}

// StartSeries checks a recurring campaign as a send would be checked, and
// starts its schedule: at each time a copy of it goes out to its audience
// as it is then.
func (s *Service) StartSeries(ctx context.Context, id int64) (store.Campaign, error) {
	x, err := s.st.Campaign(ctx, id)
	if err != nil {
		return x, err
	}
	next, err := s.checkSeries(ctx, x)
	if err != nil {
		return x, err
	}
	return s.st.SetSeries(ctx, id, next)
}

// checkSeries checks a recurring campaign as each of its sends would be
// checked, with its feed's address, and says when it next sends.
func (s *Service) checkSeries(ctx context.Context, x store.Campaign) (time.Time, error) {
	if x.Recurrence == nil {
		return time.Time{}, &store.ValidationError{Fields: map[string]string{"recurrence": "Give the campaign a schedule to repeat on first."}}
	}
	if _, _, err := s.checkCampaign(ctx, x, false); err != nil {
		return time.Time{}, err
	}
	if x.Recurrence.OnlyIfNew != "" {
		if msg := s.checkFeedURL(x.Recurrence.OnlyIfNew); msg != "" {
			return time.Time{}, &store.ValidationError{Fields: map[string]string{"recurrence.only_if_new": msg}}
		}
	}
	return NextSend(*x.Recurrence, s.now(), s.Location(ctx))
}

// UpdateCampaign changes a campaign that has not started. A running
// series whose schedule changes moves its next send to the new schedule;
// one whose schedule is cleared stops.
func (s *Service) UpdateCampaign(ctx context.Context, id int64, in store.CampaignInput) (store.Campaign, error) {
	old, err := s.st.Campaign(ctx, id)
	if err != nil {
		return old, err
	}
	if old.Recurrence == nil && old.Status == store.CampaignScheduled && in.Recurrence != nil && in.Recurrence.Every != "" {
		return old, &store.ValidationError{Fields: map[string]string{"recurrence": "The campaign is scheduled to send once: unschedule it first, then start its repeat schedule."}}
	}
	if old.Recurrence == nil || old.Status != store.CampaignScheduled {
		return s.st.UpdateCampaign(ctx, id, in)
	}
	// A running series is checked as it would be changed, before the
	// change is saved: a change it could not send with is refused whole.
	x, err := s.st.PreviewCampaign(ctx, id, in)
	if err != nil {
		return x, err
	}
	var next time.Time
	if x.Recurrence != nil {
		if next, err = s.checkSeries(ctx, x); err != nil {
			return x, err
		}
	}
	if x, err = s.st.UpdateCampaign(ctx, id, in); err != nil {
		return x, err
	}
	switch {
	case x.Recurrence == nil:
		return s.st.SetSeries(ctx, id, time.Time{})
	case *x.Recurrence != *old.Recurrence:
		return s.st.SetSeries(ctx, id, next)
	}
	return x, nil
}

// StopSeries stops a recurring campaign's schedule; it becomes a draft.
func (s *Service) StopSeries(ctx context.Context, id int64) (store.Campaign, error) {
	return s.st.SetSeries(ctx, id, time.Time{})
}

// SendSeries makes the copies of the recurring campaigns that are due,
// each scheduled at once for StartDue to start, and moves each series on.
// A series whose feed has nothing new since its last send skips this
// time; one whose feed cannot be read sends anyway, and says so in the
// log.
func (s *Service) SendSeries(ctx context.Context) error {
	series, err := s.st.DueSeries(ctx)
	if err != nil {
		return err
	}
	loc := s.Location(ctx)
	var errs []error
	for _, x := range series {
		next, err := nextAfterDue(*x.Recurrence, x.RecurNextAt, s.now(), loc)
		if err != nil {
			errs = append(errs, fmt.Errorf("campaign %d: %w", x.ID, err))
			continue
		}
		skip, latest, note := false, x.RecurSeen, ""
		if feed := x.Recurrence.OnlyIfNew; feed != "" {
			key, err := s.feedLatest(ctx, feed)
			switch {
			case err != nil:
				// Not known to have anything new: this time is skipped, and
				// what the feed held last time stands for the next.
				skip = true
				note = fmt.Sprintf("The feed could not be read at %s, so that time was skipped: %s", s.now().In(loc).Format("2 Jan 15:04"), err)
				s.log.Warn("a recurring campaign's feed could not be read; skipped", "campaign", x.ID, "feed", feed, "err", err)
			case key == x.RecurSeen:
				skip = true
			default:
				latest = key
			}
		}
		id, err := s.st.SpawnSeries(ctx, x.ID, x.RecurNextAt, next, latest, skip, note)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if skip {
			s.log.Info("recurring campaign skipped: its feed has nothing new", "campaign", x.ID)
		} else if id != 0 {
			s.log.Info("recurring campaign sends a copy", "campaign", x.ID, "copy", id)
		}
	}
	// The copies are started by StartDue, the one starter of scheduled
	// campaigns.
	return errors.Join(errs...)
}

// nextAfterDue is a series' next time after the one due now: the first
// of its times after due that is still to come, so a copy late by
// minutes (or a process that was off) neither sends twice at a time the
// autumn clock change repeats nor catches up the times it missed.
func nextAfterDue(r store.Recurrence, due, now time.Time, loc *time.Location) (time.Time, error) {
	next, err := NextSend(r, due, loc)
	for i := 0; err == nil && !next.After(now); i++ {
		if i == 100000 {
			return NextSend(r, now, loc)
		}
		next, err = NextSend(r, next, loc)
	}
	return next, err
}

// maxFeed is the most of a feed read to see whether it has something new.
const maxFeed = 5 << 20

// checkFeedURL says what is wrong with a feed's address, "" if nothing:
// http or https, to a host the SSRF guard lets through.
func (s *Service) checkFeedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "Give the feed's address as an http or https URL."
	}
	if s.cfg.Guard != nil {
		if msg := s.cfg.Guard.CheckHost(u.Hostname()); msg != "" {
			return "The feed's host is refused: " + msg
		}
	}
	return ""
}

// feedLatest reads a feed and returns a key for its newest item: the first
// item or entry of RSS or Atom, or the first element of a JSON list (or
// of the first list in a JSON object).
func (s *Service) feedLatest(ctx context.Context, raw string) (string, error) {
	if msg := s.checkFeedURL(raw); msg != "" {
		return "", errors.New(msg)
	}
	if s.cfg.Guard == nil {
		return "", errors.New("no guard for outbound requests")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("User-Agent", "Herald")
	res, err := s.cfg.Guard.Client(30*time.Second, 1).Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("the feed answered %s", res.Status)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxFeed+1))
	if err != nil {
		return "", err
	}
	if len(body) > maxFeed {
		return "", errors.New("the feed is larger than 5 MB")
	}
	first, err := firstItem(body)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(first)
	return hex.EncodeToString(sum[:12]), nil
}

// firstItem is the newest item of a feed, as bytes to compare.
func firstItem(body []byte) ([]byte, error) {
	trimmed := strings.TrimSpace(string(body))
	if strings.HasPrefix(trimmed, "<") {
		var feed struct {
			Items   []feedItem `xml:"channel>item"`
			Entries []feedItem `xml:"entry"`
		}
		if err := xml.Unmarshal(body, &feed); err != nil {
			return nil, fmt.Errorf("the feed is not RSS or Atom: %w", err)
		}
		items := append(feed.Items, feed.Entries...)
		if len(items) == 0 {
			return []byte{}, nil
		}
		b, _ := json.Marshal(items[0])
		return b, nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, errors.New("the feed is neither XML nor JSON")
	}
	list, _ := v.([]any)
	if obj, ok := v.(map[string]any); ok {
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if l, ok := obj[k].([]any); ok {
				list = l
				break
			}
		}
	}
	if len(list) == 0 {
		return []byte{}, nil
	}
	return json.Marshal(list[0])
}

type feedItem struct {
	ID      string `xml:"id" json:"id,omitempty"`
	GUID    string `xml:"guid" json:"guid,omitempty"`
	Link    string `xml:"link" json:"link,omitempty"`
	Title   string `xml:"title" json:"title,omitempty"`
	Date    string `xml:"pubDate" json:"date,omitempty"`
	Updated string `xml:"updated" json:"updated,omitempty"`
}
