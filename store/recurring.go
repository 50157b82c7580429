package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Recurrence is a recurring campaign's schedule: every day, week or month
// at a time in the organisation's timezone, or a cron expression; and,
// optionally, a feed that must have something new for a send to go.
type Recurrence struct {
	Every string `json:"every"`
	// At is the time of day ("09:00"); Weekday (0 Sunday) for weekly, Day
	// (1 to 28) for monthly; Cron is a five-field expression for cron.
	At      string `json:"at,omitempty"`
	Weekday int    `json:"weekday,omitempty"`
	Day     int    `json:"day,omitempty"`
	Cron    string `json:"cron,omitempty"`
	// OnlyIfNew, when set, skips a send when the feed at this URL (RSS,
	// Atom or a JSON list) has nothing newer than at the last send.
	OnlyIfNew string `json:"only_if_new,omitempty"`
}

// Ways a campaign recurs.
const (
	RecurDaily   = "daily"
	RecurWeekly  = "weekly"
	RecurMonthly = "monthly"
	RecurCron    = "cron"
)

// check says what is wrong with the schedule's own fields; the cron
// expression and the feed's address are checked where they are used.
func (r *Recurrence) check(errs map[string]string) {
	switch r.Every {
	case RecurDaily, RecurWeekly, RecurMonthly:
		if !clockRE.MatchString(r.At) {
			errs["recurrence.at"] = "Give the time of day as HH:MM, such as 09:00."
		}
	case RecurCron:
		if f := strings.Fields(r.Cron); len(f) != 5 || strings.Contains(r.Cron, "TZ=") {
			errs["recurrence.cron"] = "Give a cron expression of five fields: minute hour day month weekday, such as 0 9 * * 1."
		} else if _, err := cron.ParseStandard(r.Cron); err != nil {
			errs["recurrence.cron"] = "The cron expression cannot be read: " + err.Error() + "."
		}
	default:
		errs["recurrence.every"] = fmt.Sprintf("%q is not a schedule; use daily, weekly, monthly or cron.", r.Every)
	}
	if r.Weekday < 0 || r.Weekday > 6 {
		errs["recurrence.weekday"] = "Weekdays go from 0 (Sunday) to 6 (Saturday)."
	}
	if r.Every == RecurMonthly && (r.Day < 1 || r.Day > 28) {
		errs["recurrence.day"] = "Give the day of the month as 1 to 28, so every month has it."
	}
	if len(r.OnlyIfNew) > 2000 || (r.OnlyIfNew != "" && !strings.HasPrefix(r.OnlyIfNew, "https://") && !strings.HasPrefix(r.OnlyIfNew, "http://")) {
		errs["recurrence.only_if_new"] = "Give the feed's address as an http or https URL."
	}
}

// SetSeries starts a recurring campaign's schedule, its next send at
// next, or stops it (next zero): a series waits as scheduled and never
// sends itself; each of its sends is a copy.
func (s *Store) SetSeries(ctx context.Context, id int64, next time.Time) (Campaign, error) {
	now := unix(s.now())
	var res sql.Result
	var err error
	if next.IsZero() {
		res, err = s.w.ExecContext(ctx, `UPDATE campaigns SET status = 'draft', recur_next_at = NULL, updated_at = ?
WHERE id = ? AND status IN ('draft', 'scheduled') AND (recurrence != '' OR recur_next_at IS NOT NULL)`, now, id)
	} else {
		res, err = s.w.ExecContext(ctx, `UPDATE campaigns SET status = 'scheduled', send_at = NULL, paused_reason = '', recur_next_at = ?, updated_at = ?
WHERE id = ? AND recurrence != '' AND status IN ('draft', 'scheduled')`, unix(next), now, id)
	}
	if err != nil {
		return Campaign{}, fmt.Errorf("store: campaign %d series: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Campaign{}, &ValidationError{Fields: map[string]string{"recurrence": "Only a draft or scheduled campaign with a schedule can repeat."}}
	}
	return s.Campaign(ctx, id)
}

// DueSeries returns the recurring campaigns whose next send is due.
func (s *Store) DueSeries(ctx context.Context) ([]Campaign, error) {
	return queryAll(ctx, s, "due series", scanCampaign, `SELECT `+campaignColumns+` FROM campaigns
WHERE recurrence != '' AND status = 'scheduled' AND recur_next_at <= ? ORDER BY recur_next_at`, unix(s.now()))
}

// SpawnSeries makes, in one transaction, the copy of series id that goes
// out now (scheduled at once, for the scheduler to start: it reads its
// audience afresh) and moves the series on to next, with seen as what its
// feed holds. skip moves it on without a copy, when the feed has nothing
// new. It returns the copy's id, 0 when skipped; a series whose next send
// is no longer due (another process spawned it) is left alone.
func (s *Store) SpawnSeries(ctx context.Context, id int64, due, next time.Time, seen string, skip bool, note string) (int64, error) {
	now := unix(s.now())
	var copyID int64
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE campaigns SET recur_next_at = ?, recur_seen = ?, paused_reason = ?, updated_at = ?
WHERE id = ? AND status = 'scheduled' AND recur_next_at = ?`, unix(next), seen, note, now, id, unix(due))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 || skip {
			return nil
		}
		const cols = `subject, preheader, from_name, from_email, reply_to, template_id, format, body, text_body, layout_id, list_ids, segment_id,
	exclude_list_ids, exclude_segment_id, relay_id, track_opens, track_clicks, utm_source, utm_medium, utm_campaign, local_at`
		return tx.QueryRowContext(ctx, `INSERT INTO campaigns (name, `+cols+`, status, send_at, recur_parent, created_at, updated_at)
SELECT substr(name || ' · ' || ?, 1, 200), `+cols+`, 'scheduled', ?, id, ?, ? FROM campaigns WHERE id = ? RETURNING id`,
			fromUnix(unix(due)).Format("2 Jan 2006"), now, now, now, id).Scan(&copyID)
	})
	if err != nil {
		return 0, fmt.Errorf("store: campaign %d series: %w", id, err)
	}
	return copyID, nil
}
