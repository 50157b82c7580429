package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Statuses of a journey.
const (
	JourneyActive    = "active"
	JourneyCompleted = "completed"
	JourneyExited    = "exited"
	JourneyConverted = "converted"
	JourneyFailed    = "failed"
)

// Journey is one contact's way through an automation.
type Journey struct {
	ID           int64
	AutomationID int64
	ContactID    int64
	Email        string
	// Entry counts the contact's journeys through the automation, 1 the
	// first time; a test journey's is 0.
	Entry       int
	Status      string
	StepID      int64
	StepStarted time.Time
	// WaitingFor is the event a wait step waits for; "" once it came.
	WaitingFor string
	DueAt      time.Time
	Test       bool
	Source     string
	EndReason  string
	EnteredAt  time.Time
	UpdatedAt  time.Time
	EndedAt    time.Time
	// lease is the claim's, which the advance must still hold.
	lease int64
}

const journeyColumns = `j.id, j.automation_id, j.contact_id, coalesce(c.email, ''), j.entry, j.status, j.step_id, j.step_started, j.waiting_for,
	j.due_at, j.test, j.source, j.end_reason, j.entered_at, j.updated_at, coalesce(j.ended_at, 0), coalesce(j.lease_until, 0)`

func scanJourney(row scanner) (Journey, error) {
	var j Journey
	var started, due, entered, updated, ended int64
	err := row.Scan(&j.ID, &j.AutomationID, &j.ContactID, &j.Email, &j.Entry, &j.Status, &j.StepID, &started, &j.WaitingFor,
		&due, &j.Test, &j.Source, &j.EndReason, &entered, &updated, &ended, &j.lease)
	if errors.Is(err, sql.ErrNoRows) {
		return j, ErrNotFound
	}
	j.StepStarted, j.DueAt, j.EnteredAt, j.UpdatedAt = fromUnix(started), fromUnix(due), fromUnix(entered), fromUnix(updated)
	if ended != 0 {
		j.EndedAt = fromUnix(ended)
	}
	return j, err
}

// TestWait is how long a test journey waits at a wait step, whatever the
// step says.
const TestWait = 3 * time.Second

// stepDue is when a journey that reaches st at now is due there, and the
// event it waits for: now for a step that acts at once.
func stepDue(st Step, now time.Time, loc *time.Location, test bool) (time.Time, string) {
	switch st.Kind {
	case StepWait:
		if test {
			return now.Add(TestWait), ""
		}
		if st.Seconds > 0 {
			return now.Add(time.Duration(st.Seconds) * time.Second), ""
		}
		return nextWeekdayAt(now, st.Weekdays, st.At, loc), ""
	case StepWaitEvent:
		if test {
			return now.Add(10 * TestWait), st.Event
		}
		return now.Add(time.Duration(st.Seconds) * time.Second), st.Event
	}
	return now, ""
}

// nextWeekdayAt is the first moment after now that is one of days (all
// when empty) at the clock time at ("HH:MM") in loc. A clock time that a
// daylight-saving change skips falls an hour later, as time.Date makes it.
func nextWeekdayAt(now time.Time, days []int, at string, loc *time.Location) time.Time {
	var h, m int
	fmt.Sscanf(at, "%d:%d", &h, &m)
	local := now.In(loc)
	for i := 0; i <= 7; i++ {
		d := local.AddDate(0, 0, i)
		t := WallTime(d.Year(), d.Month(), d.Day(), h, m, loc)
		if !t.After(now) {
			continue
		}
		if len(days) == 0 || slices.Contains(days, int(t.Weekday())) {
			return t
		}
	}
	return now.Add(24 * time.Hour) // unreachable with days in 0..6
}

// Enrollment is a contact to put into an automation.
type Enrollment struct {
	ContactID int64
	// Source says how the contact came: the trigger, "manual", "api".
	Source string
	// Test runs the journey with its waits shortened, whatever the
	// automation's status, apart from its counts.
	Test bool
}

// EnrollResult says what became of each contact asked to enter.
type EnrollResult struct {
	Entered int
	// Skipped counts the contacts left out, by reason.
	Skipped map[string]int
}

// Reasons a contact does not enter.
const (
	SkipInJourney  = "already in it"
	SkipOnce       = "went through it before"
	SkipTooSoon    = "entered too recently"
	SkipNotMailed  = "unsubscribed, bounced or suppressed"
	SkipNoContact  = "no such contact"
	SkipNotRunning = "the automation is not active"
	SkipLoop       = "entered in the last day, and now started by an automation's step"
)

// stepCause marks a context in which an automation's step acts: what it
// starts in other automations is held to once a day per contact, so two
// automations that start each other cannot loop.
type stepCause struct{}

// loopGuard is how long after a contact entered an automation a step of
// another may not bring them in again.
const loopGuard = 24 * time.Hour

// Enroll puts contacts into automation id, by hand or through the API,
// under its entry rules. It refuses an automation that is not active,
// unless every enrollment is a test.
func (s *Store) Enroll(ctx context.Context, id int64, in []Enrollment) (EnrollResult, error) {
	res := EnrollResult{Skipped: map[string]int{}}
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		res = EnrollResult{Skipped: map[string]int{}}
		a, err := s.automationTx(ctx, tx, id)
		if err != nil {
			return err
		}
		for _, e := range in {
			if a.Status != AutomationActive && !(e.Test && a.Status != AutomationArchived) {
				res.Skipped[SkipNotRunning]++
				continue
			}
			why, err := s.enroll(ctx, tx, a, e)
			if err != nil {
				return err
			}
			if why == "" {
				res.Entered++
			} else {
				res.Skipped[why]++
			}
		}
		return nil
	})
	if err != nil {
		return res, wrapValidation(err, fmt.Sprintf("store: enroll in automation %d", id))
	}
	return res, nil
}

// enrolling is what enroll needs of an automation.
type enrolling struct {
	ID                int64
	Status            string
	Entry             Entry
	first             Step
	empty             bool
	exitOnUnsubscribe bool
}

func (s *Store) automationTx(ctx context.Context, tx *sql.Tx, id int64) (enrolling, error) {
	a, err := scanAutomation(tx.QueryRowContext(ctx, `SELECT `+automationColumns+` FROM automations WHERE id = ?`, id))
	if err != nil {
		return enrolling{}, err
	}
	return enrollingOf(a), nil
}

func enrollingOf(a Automation) enrolling {
	e := enrolling{ID: a.ID, Status: a.Status, Entry: a.Entry, empty: len(a.Flow.Steps) == 0}
	if !e.empty {
		e.first = a.Flow.Steps[0]
	}
	return e
}

// enroll starts a journey for e.ContactID in a, unless the entry rules
// keep them out; it returns why not, "" when they entered.
func (s *Store) enroll(ctx context.Context, tx *sql.Tx, a enrolling, e Enrollment) (string, error) {
	if a.empty {
		return SkipNotRunning, nil
	}
	now := s.now()
	var status string
	var suppressed bool
	err := tx.QueryRowContext(ctx, contactStatusSQL, e.ContactID).Scan(&status, &suppressed)
	if errors.Is(err, sql.ErrNoRows) {
		return SkipNoContact, nil
	}
	if err != nil {
		return "", err
	}
	if status != StatusActive || suppressed {
		return SkipNotMailed, nil
	}
	var active, entries int
	var last sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT coalesce(sum(status = 'active'), 0), count(*), max(entered_at) FROM automation_journeys
WHERE contact_id = ? AND automation_id = ? AND test = ?`, e.ContactID, a.ID, e.Test).Scan(&active, &entries, &last)
	if err != nil {
		return "", err
	}
	switch {
	case active > 0:
		return SkipInJourney, nil
	case e.Test:
	case entries > 0 && !a.Entry.Again:
		return SkipOnce, nil
	case entries > 0 && a.Entry.EveryDays > 0 && last.Valid && now.Sub(fromUnix(last.Int64)) < time.Duration(a.Entry.EveryDays)*24*time.Hour:
		return SkipTooSoon, nil
	case ctx.Value(stepCause{}) != nil && last.Valid && now.Sub(fromUnix(last.Int64)) < loopGuard:
		return SkipLoop, nil
	}
	entry := entries + 1
	if e.Test {
		entry = 0
	}
	loc := time.UTC
	if a.first.Kind == StepWait && len(a.first.Weekdays)+len(a.first.At) > 0 {
		loc = s.location(ctx)
	}
	due, waiting := stepDue(a.first, now, loc, e.Test)
	var jid int64
	err = tx.QueryRowContext(ctx, `INSERT INTO automation_journeys (automation_id, contact_id, entry, step_id, step_started, waiting_for, due_at, test,
	source, entered_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		a.ID, e.ContactID, entry, a.first.ID, unix(now), waiting, unix(due), e.Test, e.Source, unix(now), unix(now)).Scan(&jid)
	if err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO automation_history (journey_id, step_id, at, outcome, detail) VALUES (?, 0, ?, 'entered', ?)`,
		jid, unix(now), enteredDetail(e.Source)); err != nil {
		return "", err
	}
	if !e.Test {
		if _, err := tx.ExecContext(ctx, `UPDATE automations SET entered = entered + 1 WHERE id = ?`, a.ID); err != nil {
			return "", err
		}
	}
	return "", nil
}

func enteredDetail(source string) string {
	switch source {
	case "":
		return "Entered."
	case "test":
		return "Entered as a test: waits last seconds."
	}
	return "Entered: " + source + "."
}

// location is the organisation's timezone.
func (s *Store) location(ctx context.Context) *time.Location {
	g, err := s.General(ctx)
	if err != nil {
		return time.UTC
	}
	return g.Location()
}

// triggered enrolls contactID in every active automation whose trigger is
// kind with ref and key, as what happened commits: source names it.
func (s *Store) triggered(ctx context.Context, tx *sql.Tx, kind string, ref int64, key string, contactID int64, source string) error {
	return s.triggeredMany(ctx, tx, kind, ref, key, []int64{contactID}, source)
}

// triggeredMany is triggered for several contacts at once.
func (s *Store) triggeredMany(ctx context.Context, tx *sql.Tx, kind string, ref int64, key string, contactIDs []int64, source string) error {
	if len(contactIDs) == 0 {
		return nil
	}
	as, err := s.triggerAutomations(ctx, tx, kind, ref, key)
	if err != nil {
		return err
	}
	for _, a := range as {
		for _, id := range contactIDs {
			if _, err := s.enroll(ctx, tx, a, Enrollment{ContactID: id, Source: source}); err != nil {
				return fmt.Errorf("store: enroll contact %d in automation %d: %w", id, a.ID, err)
			}
		}
	}
	return nil
}

// triggerAutomations returns the active automations whose trigger is kind
// with ref and key.
func (s *Store) triggerAutomations(ctx context.Context, tx *sql.Tx, kind string, ref int64, key string) ([]enrolling, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+automationColumns+` FROM automations
WHERE status = 'active' AND trigger_kind = ? AND trigger_ref = ? AND trigger_key = ?`, kind, ref, key)
	if err != nil {
		return nil, fmt.Errorf("store: automations for %s: %w", kind, err)
	}
	defer rows.Close()
	var out []enrolling
	for rows.Next() {
		a, err := scanAutomation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, enrollingOf(a))
	}
	return out, rows.Err()
}

// engaged enrolls, as opens and clicks commit, the people who opened or
// clicked a campaign in the automations those start: a person's, not a
// mail scanner's, and only where someone is known.
func (s *Store) engaged(ctx context.Context, tx *sql.Tx, events []eventRow) error {
	type watch struct {
		kind     string
		campaign int64
	}
	watched := map[watch][]string{} // the links (by URL) a click trigger names; "" for any
	rows, err := tx.QueryContext(ctx, `SELECT trigger_kind, trigger_ref, trigger_key FROM automations WHERE status = 'active' AND trigger_kind IN ('open', 'click')`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var w watch
		var key string
		if err := rows.Scan(&w.kind, &w.campaign, &key); err != nil {
			rows.Close()
			return err
		}
		watched[w] = append(watched[w], key)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(watched) == 0 {
		return err
	}
	for _, e := range events {
		kind := map[string]string{ResultOpen: TriggerOpen, ResultClick: TriggerClick}[e.kind]
		keys := watched[watch{kind, e.t.campaign}]
		if kind == "" || e.machine || e.t.contact == 0 || len(keys) == 0 {
			continue
		}
		var url string
		if kind == TriggerClick {
			if err := tx.QueryRowContext(ctx, `SELECT url FROM links WHERE id = ?`, e.link).Scan(&url); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		for _, key := range keys {
			if key != "" && key != url {
				continue
			}
			if err := s.triggered(ctx, tx, kind, e.t.campaign, key, e.t.contact, kind+"ed campaign "+strconv.FormatInt(e.t.campaign, 10)); err != nil {
				return err
			}
		}
	}
	return nil
}

// eventHappened does, as a custom event commits, what it means for
// automations: journeys waiting for it move on, journeys whose goal it is
// convert, and automations it triggers take the contact in.
func (s *Store) eventHappened(ctx context.Context, tx *sql.Tx, contactID int64, name string) error {
	now := unix(s.now())
	if _, err := tx.ExecContext(ctx, `UPDATE automation_journeys SET waiting_for = '', due_at = ?, updated_at = ?
WHERE contact_id = ? AND status = 'active' AND waiting_for = ? AND lease_until IS NULL`, now, now, contactID, name); err != nil {
		return fmt.Errorf("store: journeys waiting for %s: %w", name, err)
	}
	if err := s.endJourneys(ctx, tx, `contact_id = ? AND status = 'active' AND test = 0 AND automation_id IN
	(SELECT id FROM automations WHERE goal_event = ? AND status IN ('active', 'paused'))`, []any{contactID, name},
		JourneyConverted, "Reached the goal: "+name+"."); err != nil {
		return err
	}
	return s.triggered(ctx, tx, TriggerEvent, 0, name, contactID, "event "+name)
}

// unsubscribed ends, as a contact's unsubscribe commits, their journeys in
// automations that take out who unsubscribes.
func (s *Store) unsubscribed(ctx context.Context, tx *sql.Tx, contactID int64) error {
	return s.endJourneys(ctx, tx, `contact_id = ? AND status = 'active' AND automation_id IN
	(SELECT id FROM automations WHERE entry ->> 'exit_on_unsubscribe')`, []any{contactID}, JourneyExited, "Unsubscribed.")
}

// endJourneys ends the active journeys that where selects, with status and
// why, and counts them on their automations.
func (s *Store) endJourneys(ctx context.Context, tx *sql.Tx, where string, args []any, status, why string) error {
	now := unix(s.now())
	rows, err := tx.QueryContext(ctx, `UPDATE automation_journeys SET status = ?, end_reason = ?, ended_at = ?, updated_at = ?, lease_until = NULL, waiting_for = ''
WHERE `+where+` RETURNING id, step_id, automation_id, test`, append([]any{status, why, now, now}, args...)...)
	if err != nil {
		return fmt.Errorf("store: end journeys: %w", err)
	}
	type ended struct {
		id, step, automation int64
		test                 bool
	}
	var es []ended
	for rows.Next() {
		var e ended
		if err := rows.Scan(&e.id, &e.step, &e.automation, &e.test); err != nil {
			rows.Close()
			return err
		}
		es = append(es, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	counter := endCounters[status]
	for _, e := range es {
		if _, err := tx.ExecContext(ctx, `INSERT INTO automation_history (journey_id, step_id, at, outcome, detail) VALUES (?, ?, ?, ?, ?)`,
			e.id, e.step, now, status, why); err != nil {
			return err
		}
		if counter != "" && !e.test {
			if _, err := tx.ExecContext(ctx, `UPDATE automations SET `+counter+` = `+counter+` + 1 WHERE id = ?`, e.automation); err != nil {
				return err
			}
		}
	}
	return nil
}

// dueJourneysSQL finds an automation's journeys that are due, by its index.
const dueJourneysSQL = `SELECT id FROM automation_journeys WHERE automation_id = ? AND status = 'active' AND due_at <= ? ORDER BY due_at LIMIT ?`

// ClaimJourneys claims up to n due journeys with a lease: those of active
// automations, and test journeys of any automation not archived. A claimed
// journey is due again when its lease runs out, so one a stopped process
// held is taken up again.
func (s *Store) ClaimJourneys(ctx context.Context, n int, lease time.Duration) ([]Journey, error) {
	now := s.now()
	// Looked for on a reader first: an idle engine takes no write lock.
	var due bool
	if err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM automations a JOIN automation_journeys j ON j.automation_id = a.id
	WHERE j.status = 'active' AND j.due_at <= ? AND (a.status = 'active' OR (j.test = 1 AND a.status IN ('draft', 'paused'))))`, unix(now)).Scan(&due); err != nil || !due {
		if err != nil {
			err = fmt.Errorf("store: claim journeys: %w", err)
		}
		return nil, err
	}
	until := unix(now.Add(lease))
	var out []Journey
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		ids, err := queryIDs(ctx, tx, `SELECT id FROM automations WHERE status = 'active'`)
		if err != nil {
			return err
		}
		claim := func(q string, args ...any) error {
			claimed, err := queryIDs(ctx, tx, `UPDATE automation_journeys SET lease_until = ?, due_at = ? WHERE id IN (`+q+`) RETURNING id`,
				append([]any{until, until}, args...)...)
			if err != nil || len(claimed) == 0 {
				return err
			}
			rows, err := tx.QueryContext(ctx, `SELECT `+journeyColumns+` FROM automation_journeys j LEFT JOIN contacts c ON c.id = j.contact_id
WHERE j.id IN (SELECT value FROM json_each(?)) ORDER BY j.id`, idList(claimed))
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				j, err := scanJourney(rows)
				if err != nil {
					return err
				}
				out = append(out, j)
			}
			return rows.Err()
		}
		for _, id := range ids {
			if len(out) >= n {
				break
			}
			if err := claim(dueJourneysSQL, id, unix(now), n-len(out)); err != nil {
				return err
			}
		}
		if len(out) < n {
			return claim(`SELECT id FROM automation_journeys WHERE status = 'active' AND test = 1 AND due_at <= ?
	AND automation_id IN (SELECT id FROM automations WHERE status IN ('draft', 'paused')) ORDER BY due_at LIMIT ?`, unix(now), n-len(out))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim journeys: %w", err)
	}
	return out, nil
}

// queryIDs runs a query of one integer column.
func queryIDs(ctx context.Context, db queryer, q string, args ...any) ([]int64, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// ReleaseJourneys makes every claimed journey due now: at start-up, the
// claims of a process that stopped are nobody's.
func (s *Store) ReleaseJourneys(ctx context.Context) (int, error) {
	now := unix(s.now())
	res, err := s.w.ExecContext(ctx, `UPDATE automation_journeys SET lease_until = NULL, due_at = ? WHERE status = 'active' AND lease_until IS NOT NULL`, now)
	if err != nil {
		return 0, fmt.Errorf("store: release journeys: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// HistoryEntry is one thing that happened in a journey.
type HistoryEntry struct {
	StepID  int64
	At      time.Time
	Outcome string
	Detail  string
}

// JourneyHistory returns what happened in a journey, in order.
func (s *Store) JourneyHistory(ctx context.Context, journeyID int64) ([]HistoryEntry, error) {
	return queryAll(ctx, s, "journey history", func(row scanner) (HistoryEntry, error) {
		var h HistoryEntry
		var at int64
		err := row.Scan(&h.StepID, &at, &h.Outcome, &h.Detail)
		h.At = fromUnix(at)
		return h, err
	}, `SELECT step_id, at, outcome, detail FROM automation_history WHERE journey_id = ? ORDER BY id`, journeyID)
}

// Journey returns one journey.
func (s *Store) Journey(ctx context.Context, id int64) (Journey, error) {
	j, err := scanJourney(s.r.QueryRowContext(ctx, `SELECT `+journeyColumns+` FROM automation_journeys j LEFT JOIN contacts c ON c.id = j.contact_id WHERE j.id = ?`, id))
	if err != nil {
		return j, fmt.Errorf("store: journey %d: %w", id, err)
	}
	return j, nil
}

// JourneyFilter narrows an automation's journeys: by status, by the step
// they are at, by contact.
type JourneyFilter struct {
	Status    string
	StepID    int64
	ContactID int64
	Test      bool
}

// Journeys returns a page of an automation's journeys, newest first, and
// how many match.
func (s *Store) Journeys(ctx context.Context, automationID int64, f JourneyFilter, limit, offset int) ([]Journey, int, error) {
	where, args := ` FROM automation_journeys j LEFT JOIN contacts c ON c.id = j.contact_id WHERE j.automation_id = ? AND j.test = ?`, []any{automationID, f.Test}
	if f.Status != "" {
		where, args = where+` AND j.status = ?`, append(args, f.Status)
	}
	if f.StepID != 0 {
		where, args = where+` AND j.step_id = ?`, append(args, f.StepID)
	}
	if f.ContactID != 0 {
		where, args = where+` AND j.contact_id = ?`, append(args, f.ContactID)
	}
	return queryPage(ctx, s, "journeys", scanJourney, `SELECT count(*)`+where, `SELECT `+journeyColumns+where+` ORDER BY j.id DESC LIMIT ? OFFSET ?`, args, limit, offset)
}

// ContactJourneys returns a contact's journeys through every automation,
// newest first, with the automation's name.
func (s *Store) ContactJourneys(ctx context.Context, contactID int64, limit int) ([]NamedJourney, error) {
	return queryAll(ctx, s, "contact journeys", func(row scanner) (NamedJourney, error) {
		var n NamedJourney
		var extra string
		j, err := scanJourneyWith(row, &extra)
		n.Journey, n.Automation = j, extra
		return n, err
	}, `SELECT `+journeyColumns+`, a.name FROM automation_journeys j JOIN automations a ON a.id = j.automation_id LEFT JOIN contacts c ON c.id = j.contact_id
WHERE j.contact_id = ? ORDER BY j.id DESC LIMIT ?`, contactID, limit)
}

// NamedJourney is a journey with its automation's name.
type NamedJourney struct {
	Journey
	Automation string
}

func scanJourneyWith(row scanner, extra ...any) (Journey, error) {
	return scanJourney(scannerFunc(func(dst ...any) error { return row.Scan(append(dst, extra...)...) }))
}

// scannerFunc makes a function a scanner.
type scannerFunc func(dst ...any) error

func (f scannerFunc) Scan(dst ...any) error { return f(dst...) }

// StepStats is how many journeys wait at a step and have passed it, and
// for an email step what its sends did.
type StepStats struct {
	Waiting int
	Passed  int
	Sent    int
	Opened  int
	Clicked int
}

// AutomationStats returns each step's stats, by step id.
func (s *Store) AutomationStats(ctx context.Context, id int64) (map[int64]StepStats, error) {
	out := map[int64]StepStats{}
	add := func(q string, fn func(st *StepStats, a, b, c int)) error {
		rows, err := s.r.QueryContext(ctx, q, id)
		if err != nil {
			return fmt.Errorf("store: automation %d stats: %w", id, err)
		}
		defer rows.Close()
		for rows.Next() {
			var step int64
			var a, b, c int
			if err := rows.Scan(&step, &a, &b, &c); err != nil {
				return err
			}
			st := out[step]
			fn(&st, a, b, c)
			out[step] = st
		}
		return rows.Err()
	}
	err := add(`SELECT step_id, count(*), 0, 0 FROM automation_journeys WHERE automation_id = ? AND status = 'active' AND test = 0 GROUP BY step_id`,
		func(st *StepStats, a, _, _ int) { st.Waiting = a })
	if err == nil {
		err = add(`SELECT step_id, passed, 0, 0 FROM automation_step_counts WHERE automation_id = ?`, func(st *StepStats, a, _, _ int) { st.Passed = a })
	}
	if err == nil {
		// People's opens and clicks, as the reports count them.
		err = add(`SELECT c.automation_step, count(*), count(CASE WHEN s.human_opens > 0 OR s.human_clicks > 0 THEN 1 END), count(CASE WHEN s.human_clicks > 0 THEN 1 END)
FROM campaigns c JOIN sends s ON s.campaign_id = c.id
WHERE c.automation_id = ? AND c.automation_entry > 0 AND s.status = 'sent' GROUP BY c.automation_step`, func(st *StepStats, a, b, c int) {
			st.Sent, st.Opened, st.Clicked = a, b, c
		})
	}
	return out, err
}
