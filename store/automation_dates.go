package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
)

// dateDefaultAt is when a date trigger fires when its automation names no
// time of day.
const dateDefaultAt = "09:00"

// lateDate is how late a date may still fire: one due longer ago (the
// automation was paused, or Herald was off) is let go.
const lateDate = 24 * time.Hour

// parseDateValue reads a date attribute: 2006-01-02, a time in RFC 3339
// (its date), or 01-02 for a day of the year without one (birthdays given
// without the year). year is 0 for the last.
func parseDateValue(v string) (year int, month time.Month, day int, ok bool) {
	v = strings.TrimSpace(v)
	if len(v) >= 10 {
		if t, err := time.Parse("2006-01-02", v[:10]); err == nil {
			return t.Year(), t.Month(), t.Day(), true
		}
	}
	if t, err := time.Parse("01-02", v); err == nil {
		return 0, t.Month(), t.Day(), true
	}
	if t, err := time.Parse("--01-02", v); err == nil {
		return 0, t.Month(), t.Day(), true
	}
	return 0, 0, 0, false
}

// nextDate is when a date trigger next fires for a contact whose attribute
// holds value, in loc: the first occurrence whose local date is after
// fired (the last one fired) and whose moment is after now. A yearly
// trigger (or a date without a year) comes round each year, the 29th of
// February on the 28th in other years; a one-off date fires once. ok is
// false when there is no such date.
func nextDate(t Trigger, value string, loc *time.Location, fired string, now time.Time) (due time.Time, occurrence string, ok bool) {
	year, month, day, ok := parseDateValue(value)
	if !ok {
		return time.Time{}, "", false
	}
	at := t.At
	if at == "" {
		at = dateDefaultAt
	}
	var h, m int
	fmt.Sscanf(at, "%d:%d", &h, &m)
	years := []int{year}
	if t.Yearly || year == 0 {
		y := now.In(loc).Year()
		years = []int{y - 1, y, y + 1, y + 2}
	}
	for _, y := range years {
		d := day
		if month == time.February && d == 29 && !leapYear(y) {
			d = 28
		}
		occ := time.Date(y, month, d, 12, 0, 0, 0, loc).AddDate(0, 0, t.OffsetDays)
		date := occ.Format("2006-01-02")
		if date <= fired {
			continue
		}
		// A time the spring clock change skips falls an hour later; one
		// the autumn change repeats is its first.
		when := WallTime(occ.Year(), occ.Month(), occ.Day(), h, m, loc)
		if !when.After(now) {
			continue
		}
		return when, date, true
	}
	return time.Time{}, "", false
}

// WallTime is h:m on that day in loc. A time the spring clock change
// skips falls an hour later (time.Date may give the hour before); one the
// autumn change repeats is its first.
func WallTime(y int, mo time.Month, d, h, m int, loc *time.Location) time.Time {
	t := time.Date(y, mo, d, h, m, 0, 0, loc)
	if t.Hour() < h && t.Day() == d {
		t = t.Add(time.Hour)
	}
	if e := t.Add(-time.Hour); e.Hour() == h && e.Minute() == m && e.Day() == d {
		t = e // the clock read h:m an hour earlier too: the first
	}
	return t
}

func leapYear(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// contactLocation is the contact's own timezone attribute, when it names
// one, or else def.
func contactLocation(attrs map[string]any, def *time.Location) *time.Location {
	name, _ := attrs["timezone"].(string)
	if name == "" || name == "Local" {
		return def
	}
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return def
	}
	zones.Store(name, loc)
	return loc
}

// zones caches loaded timezones by name; they never change.
var zones sync.Map

// dateAutomations are the active automations with a date trigger.
func (s *Store) dateAutomations(ctx context.Context, q queryer) ([]Automation, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+automationColumns+` FROM automations WHERE status = 'active' AND trigger_kind = 'date'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Automation
	for rows.Next() {
		a, err := scanAutomation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// scheduleDate works out and writes when a's date next fires for one
// contact, or removes it when there is none.
func (s *Store) scheduleDate(ctx context.Context, tx *sql.Tx, a Automation, contactID int64, attrs map[string]any, org *time.Location, fired string) error {
	value := fmt.Sprint(attrs[a.Trigger.Attribute])
	due, occ, ok := nextDate(a.Trigger, value, contactLocation(attrs, org), fired, s.now())
	if !ok || attrs[a.Trigger.Attribute] == nil {
		_, err := tx.ExecContext(ctx, `DELETE FROM automation_dates WHERE automation_id = ? AND contact_id = ?`, a.ID, contactID)
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO automation_dates (automation_id, contact_id, due_at, occurrence, fired) VALUES (?, ?, ?, ?, ?)
ON CONFLICT DO UPDATE SET due_at = excluded.due_at, occurrence = excluded.occurrence, fired = excluded.fired`, a.ID, contactID, unix(due), occ, fired)
	return err
}

// RefreshDates works out the dates of up to n contacts whose attributes
// changed, in every active date automation, and returns how many it did.
func (s *Store) RefreshDates(ctx context.Context, n int) (int, error) {
	// Looked for on a reader first: an idle engine takes no write lock.
	var pending bool
	if err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM automation_dates_stale)`).Scan(&pending); err != nil || !pending {
		return 0, err
	}
	org := s.location(ctx)
	done := 0
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		ids, err := queryIDs(ctx, tx, `DELETE FROM automation_dates_stale WHERE contact_id IN (SELECT contact_id FROM automation_dates_stale LIMIT ?) RETURNING contact_id`, n)
		if err != nil || len(ids) == 0 {
			return err
		}
		done = len(ids)
		as, err := s.dateAutomations(ctx, tx)
		if err != nil || len(as) == 0 {
			return err
		}
		for _, id := range ids {
			attrs, err := contactAttributes(ctx, tx, id)
			if err != nil {
				return err
			}
			for _, a := range as {
				var fired string
				if err := tx.QueryRowContext(ctx, `SELECT fired FROM automation_dates WHERE automation_id = ? AND contact_id = ?`, a.ID, id).Scan(&fired); err != nil && err != sql.ErrNoRows {
					return err
				}
				if attrs == nil {
					continue // erased or gone: its rows go with it
				}
				if err := s.scheduleDate(ctx, tx, a, id, attrs, org, fired); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: refresh dates: %w", err)
	}
	return done, nil
}

// contactAttributes reads a contact's attributes; nil when the contact is
// gone or erased.
func contactAttributes(ctx context.Context, tx *sql.Tx, id int64) (map[string]any, error) {
	var raw string
	err := tx.QueryRowContext(ctx, `SELECT attributes FROM contacts WHERE id = ? AND erased_at IS NULL`, id).Scan(&raw)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	attrs := map[string]any{}
	return attrs, json.Unmarshal([]byte(raw), &attrs)
}

// dueDatesSQL finds an automation's dates that are due, by its index: it
// never reads the contacts whose dates are not.
const dueDatesSQL = `SELECT contact_id, due_at, occurrence FROM automation_dates WHERE automation_id = ? AND due_at <= ? ORDER BY due_at LIMIT ?`

// FireDates starts the journeys of up to n date triggers that are due, and
// works out each one's next date. A date more than a day past is let go
// (the automation was paused, or Herald was off): it is not sent late.
func (s *Store) FireDates(ctx context.Context, n int) (int, error) {
	// Looked for on a reader first: an idle engine takes no write lock.
	var pending bool
	if err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM automation_dates d JOIN automations a ON a.id = d.automation_id
	WHERE a.status = 'active' AND a.trigger_kind = 'date' AND d.due_at <= ?)`, unix(s.now())).Scan(&pending); err != nil || !pending {
		return 0, err
	}
	org := s.location(ctx)
	now := s.now()
	fired := 0
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		fired = 0
		as, err := s.dateAutomations(ctx, tx)
		if err != nil {
			return err
		}
		for _, a := range as {
			type due struct {
				contact int64
				at      int64
				occ     string
			}
			rows, err := tx.QueryContext(ctx, dueDatesSQL, a.ID, unix(now), n-fired)
			if err != nil {
				return err
			}
			var ds []due
			for rows.Next() {
				var d due
				if err := rows.Scan(&d.contact, &d.at, &d.occ); err != nil {
					rows.Close()
					return err
				}
				ds = append(ds, d)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			e := enrollingOf(a)
			for _, d := range ds {
				if now.Sub(fromUnix(d.at)) <= lateDate {
					if _, err := s.enroll(ctx, tx, e, Enrollment{ContactID: d.contact, Source: a.Trigger.Attribute + " " + d.occ}); err != nil {
						return err
					}
				}
				attrs, err := contactAttributes(ctx, tx, d.contact)
				if err != nil {
					return err
				}
				if err := s.scheduleDate(ctx, tx, a, d.contact, attrs, org, d.occ); err != nil {
					return err
				}
				fired++
			}
			if fired >= n {
				break
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: fire dates: %w", err)
	}
	return fired, nil
}

// datesChanged marks every contact with a's date attribute for working
// out again, as a date automation starts or its trigger changes; a new
// trigger forgets the dates the old one worked out, and who was in the
// segment the old one watched.
func (s *Store) datesChanged(ctx context.Context, tx *sql.Tx, a Automation, forget bool) error {
	if forget {
		for _, q := range []string{`DELETE FROM automation_dates WHERE automation_id = ?`, `DELETE FROM automation_segment_members WHERE automation_id = ?`,
			`UPDATE automations SET segment_seeded = 0 WHERE id = ?`} {
			if _, err := tx.ExecContext(ctx, q, a.ID); err != nil {
				return err
			}
		}
	}
	if a.Trigger.Kind != TriggerDate {
		return nil
	}
	// Those with the attribute, and those who had it when the dates were
	// last worked out (it may have gone while the automation was paused).
	_, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO automation_dates_stale (contact_id)
SELECT id FROM contacts WHERE erased_at IS NULL AND json_extract(attributes, '$.' || ?) IS NOT NULL
UNION SELECT contact_id FROM automation_dates WHERE automation_id = ?`, a.Trigger.Attribute, a.ID)
	return err
}
