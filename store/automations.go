package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Statuses of an automation.
const (
	AutomationDraft    = "draft"
	AutomationActive   = "active"
	AutomationPaused   = "paused"
	AutomationArchived = "archived"
)

// Kinds of trigger: what brings a contact into an automation.
const (
	TriggerList    = "list"    // confirmed on the list Ref
	TriggerTag     = "tag"     // given the tag Tag
	TriggerEvent   = "event"   // the custom event Key
	TriggerManual  = "manual"  // added by hand or through the API
	TriggerOpen    = "open"    // opened the campaign Ref
	TriggerClick   = "click"   // clicked a link (URL, if given) in the campaign Ref
	TriggerSegment = "segment" // entered the segment Ref
	TriggerDate    = "date"    // the date in attribute Key comes round
)

// TriggerKinds lists the kinds of trigger, in the order the editor offers them.
var TriggerKinds = []string{TriggerList, TriggerTag, TriggerEvent, TriggerDate, TriggerOpen, TriggerClick, TriggerSegment, TriggerManual}

// Trigger is what starts an automation for a contact. Manual entry (by
// hand or through the API) works for every automation, whatever its trigger.
type Trigger struct {
	Kind string `json:"kind"`
	// ListID, Tag, Event, CampaignID or SegmentID: what the kind watches.
	ListID     int64  `json:"list_id,omitempty"`
	Tag        string `json:"tag,omitempty"`
	Event      string `json:"event,omitempty"`
	CampaignID int64  `json:"campaign_id,omitempty"`
	URL        string `json:"url,omitempty"`
	SegmentID  int64  `json:"segment_id,omitempty"`
	// A date trigger fires when the date in Attribute comes round, each
	// year (birthdays, anniversaries) or once, OffsetDays before (negative)
	// or after it, at At in the contact's own timezone attribute if it has
	// one, the organisation's otherwise.
	Attribute  string `json:"attribute,omitempty"`
	Yearly     bool   `json:"yearly,omitempty"`
	OffsetDays int    `json:"offset_days,omitempty"`
	At         string `json:"at,omitempty"`
}

// Entry says who may enter, and when.
type Entry struct {
	// Again lets a contact enter again once their last journey has ended;
	// otherwise each contact goes through once ever.
	Again bool `json:"again"`
	// EveryDays, with Again, keeps at least this many days between one
	// entry and the next.
	EveryDays int `json:"every_days,omitempty"`
	// ExitOnUnsubscribe takes a contact out when they unsubscribe.
	ExitOnUnsubscribe bool `json:"exit_on_unsubscribe"`
}

// Automation is a trigger, its entry rules, a goal and a flow of steps.
type Automation struct {
	ID      int64
	Name    string
	Status  string
	Trigger Trigger
	Entry   Entry
	// GoalEvent is a custom event that takes a contact out early, counted
	// as a conversion.
	GoalEvent   string
	Flow        Flow
	Entered     int
	Completed   int
	Exited      int
	Converted   int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ActivatedAt time.Time
}

// AutomationInput creates or changes an automation; nil fields keep their
// value. MoveFrom, when the flow changes, says where contacts waiting at a
// step the new flow no longer has go: a step id, or 0 to end their
// journeys.
type AutomationInput struct {
	Name      *string
	Trigger   *Trigger
	Entry     *Entry
	GoalEvent *string
	Flow      *Flow
	MoveFrom  map[int64]int64
}

const automationColumns = `id, name, status, trigger, entry, goal_event, flow, entered, completed, exited, converted, created_at, updated_at, activated_at`

func scanAutomation(row scanner) (Automation, error) {
	var a Automation
	var trigger, entry, flow string
	var created, updated int64
	var activated sql.NullInt64
	err := row.Scan(&a.ID, &a.Name, &a.Status, &trigger, &entry, &a.GoalEvent, &flow, &a.Entered, &a.Completed, &a.Exited, &a.Converted,
		&created, &updated, &activated)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, err
	}
	for _, f := range []struct {
		s string
		v any
	}{{trigger, &a.Trigger}, {entry, &a.Entry}, {flow, &a.Flow}} {
		if err := json.Unmarshal([]byte(f.s), f.v); err != nil {
			return a, err
		}
	}
	a.CreatedAt, a.UpdatedAt = fromUnix(created), fromUnix(updated)
	if activated.Valid {
		a.ActivatedAt = fromUnix(activated.Int64)
	}
	return a, nil
}

// Automation returns one automation.
func (s *Store) Automation(ctx context.Context, id int64) (Automation, error) {
	a, err := scanAutomation(s.r.QueryRowContext(ctx, `SELECT `+automationColumns+` FROM automations WHERE id = ?`, id))
	if err != nil {
		return a, fmt.Errorf("store: automation %d: %w", id, err)
	}
	return a, nil
}

// Automations returns every automation, newest first, optionally of one
// status.
func (s *Store) Automations(ctx context.Context, status string) ([]Automation, error) {
	return queryAll(ctx, s, "automations", scanAutomation, `SELECT `+automationColumns+` FROM automations
WHERE ? = '' OR status = ? ORDER BY id DESC`, status, status)
}

const maxAutomations = 500

// CreateAutomation adds a draft automation. A new automation takes
// contacts out when they unsubscribe unless its Entry says otherwise.
func (s *Store) CreateAutomation(ctx context.Context, in AutomationInput) (Automation, error) {
	a := Automation{Status: AutomationDraft, Trigger: Trigger{Kind: TriggerManual}, Entry: Entry{ExitOnUnsubscribe: true}}
	a.apply(in)
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM automations`).Scan(&n); err != nil {
		return a, fmt.Errorf("store: count automations: %w", err)
	}
	if n >= maxAutomations {
		return a, &ValidationError{Fields: map[string]string{"name": fmt.Sprintf("Herald keeps at most %d automations; delete some first.", maxAutomations)}}
	}
	var id int64
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		next := a.Flow.number(1)
		if err := s.checkAutomation(ctx, tx, a); err != nil {
			return err
		}
		now := unix(s.now())
		args, err := a.columns()
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO automations (name, trigger, trigger_kind, trigger_ref, trigger_key, entry, goal_event, flow,
	next_step, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			append(args, next, now, now)...).Scan(&id)
	})
	if err != nil {
		return a, wrapValidation(err, "store: create automation")
	}
	return s.Automation(ctx, id)
}

func (a *Automation) apply(in AutomationInput) {
	set(&a.Name, in.Name)
	set(&a.Trigger, in.Trigger)
	set(&a.Entry, in.Entry)
	set(&a.GoalEvent, in.GoalEvent)
	set(&a.Flow, in.Flow)
	a.Name = strings.TrimSpace(a.Name)
	a.GoalEvent = strings.TrimSpace(a.GoalEvent)
	if a.Flow.Steps == nil {
		a.Flow.Steps = []Step{}
	}
	a.Trigger.Tag = strings.TrimSpace(a.Trigger.Tag)
	a.Trigger.Event = strings.TrimSpace(a.Trigger.Event)
}

// columns are the values of name, trigger, trigger_kind, trigger_ref,
// trigger_key, entry, goal_event and flow.
func (a Automation) columns() ([]any, error) {
	trigger, err := json.Marshal(a.Trigger)
	if err != nil {
		return nil, err
	}
	entry, err := json.Marshal(a.Entry)
	if err != nil {
		return nil, err
	}
	flow, err := json.Marshal(a.Flow)
	if err != nil {
		return nil, err
	}
	ref, key := a.Trigger.refKey()
	return []any{a.Name, string(trigger), a.Trigger.Kind, ref, key, string(entry), a.GoalEvent, string(flow)}, nil
}

// refKey is what finds the automation when its trigger happens.
func (t Trigger) refKey() (int64, string) {
	switch t.Kind {
	case TriggerList:
		return t.ListID, ""
	case TriggerTag:
		return 0, strings.ToLower(t.Tag)
	case TriggerEvent:
		return 0, t.Event
	case TriggerOpen:
		return t.CampaignID, ""
	case TriggerClick:
		return t.CampaignID, t.URL
	case TriggerSegment:
		return t.SegmentID, ""
	case TriggerDate:
		return 0, t.Attribute
	}
	return 0, ""
}

// checkAutomation validates an automation, its trigger and its flow, and
// what they name in the database.
func (s *Store) checkAutomation(ctx context.Context, tx *sql.Tx, a Automation) error {
	return s.checkAutomationFor(ctx, tx, a, a.Status != AutomationDraft)
}

// checkAutomationFor is checkAutomation, asking for a complete flow when
// complete says so.
func (s *Store) checkAutomationFor(ctx context.Context, tx *sql.Tx, a Automation, complete bool) error {
	errs := map[string]string{}
	if a.Name == "" || len(a.Name) > 200 {
		errs["name"] = "Name the automation (at most 200 characters)."
	}
	if a.GoalEvent != "" {
		if msg := validEventName(a.GoalEvent); msg != "" {
			errs["goal_event"] = msg
		}
	}
	if a.Entry.EveryDays < 0 || a.Entry.EveryDays > 3650 {
		errs["entry.every_days"] = "Give the days between entries as 0 to 3650."
	}
	a.Trigger.check(errs)
	if a.Trigger.Kind == TriggerDate && a.Trigger.Yearly && !a.Entry.Again {
		errs["entry.again"] = "A yearly date brings contacts back each year: let them enter again."
	}
	a.Flow.validate(errs, complete)
	exists := func(table string, id int64) bool {
		var n int
		tx.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE id = ?`, id).Scan(&n)
		return n > 0
	}
	refs := []struct {
		table, key, msg string
		id              int64
	}{
		{"lists", "trigger.list_id", "There is no list %d.", a.Trigger.ListID},
		{"campaigns", "trigger.campaign_id", "There is no campaign %d.", a.Trigger.CampaignID},
		{"segments", "trigger.segment_id", "There is no segment %d.", a.Trigger.SegmentID},
	}
	a.Flow.Walk(func(st *Step) {
		key := fmt.Sprintf("step %d", st.ID)
		switch st.Kind {
		case StepAddList, StepRemoveList:
			refs = append(refs, struct {
				table, key, msg string
				id              int64
			}{"lists", key, "There is no list %d.", st.ListID})
		case StepWebhook:
			refs = append(refs, struct {
				table, key, msg string
				id              int64
			}{"webhooks", key, "There is no webhook endpoint %d: add it in Settings → Webhooks.", st.WebhookID})
		case StepEmail:
			var kind string
			err := tx.QueryRowContext(ctx, `SELECT kind FROM templates WHERE id = ?`, st.TemplateID).Scan(&kind)
			switch {
			case err != nil:
				errs[key] = fmt.Sprintf("There is no template %d.", st.TemplateID)
			case kind != KindCampaign:
				errs[key] = "Choose a campaign design: a " + kind + " template cannot be sent from an automation."
			}
		}
	})
	for _, r := range refs {
		if r.id != 0 && errs[r.key] == "" && !exists(r.table, r.id) {
			errs[r.key] = fmt.Sprintf(r.msg, r.id)
		}
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	return nil
}

// check validates the trigger's own fields into errs.
func (t Trigger) check(errs map[string]string) {
	switch t.Kind {
	case TriggerList:
		if t.ListID == 0 {
			errs["trigger.list_id"] = "Choose the list whose new members enter."
		}
	case TriggerTag:
		if t.Tag == "" || len(t.Tag) > 100 {
			errs["trigger.tag"] = "Name the tag (at most 100 characters)."
		}
	case TriggerEvent:
		if msg := validEventName(t.Event); msg != "" {
			errs["trigger.event"] = msg
		}
	case TriggerOpen, TriggerClick:
		if t.CampaignID == 0 {
			errs["trigger.campaign_id"] = "Choose the campaign."
		}
		if len(t.URL) > 2000 {
			errs["trigger.url"] = "A link has at most 2,000 characters."
		}
	case TriggerSegment:
		if t.SegmentID == 0 {
			errs["trigger.segment_id"] = "Choose the segment."
		}
	case TriggerDate:
		if !AttributeKey.MatchString(t.Attribute) {
			errs["trigger.attribute"] = "Name the date attribute, such as birthday."
		}
		if t.OffsetDays < -365 || t.OffsetDays > 365 {
			errs["trigger.offset_days"] = "Give the days before (negative) or after the date as -365 to 365."
		}
		if t.At != "" && !clockRE.MatchString(t.At) {
			errs["trigger.at"] = "Give the time of day as HH:MM, such as 09:00."
		}
	case TriggerManual:
	default:
		errs["trigger.kind"] = fmt.Sprintf("%q is not a trigger; use one of %s.", t.Kind, strings.Join(TriggerKinds, ", "))
	}
}

// CheckAutomation checks an automation as activating it would: its trigger,
// entry rules and a complete flow, with what they name.
func (s *Store) CheckAutomation(ctx context.Context, a Automation) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return s.checkAutomationFor(ctx, tx, a, true)
}

// PreviewAutomation is automation id as in would make it, with ids for new
// steps and checked, without saving it: what to check further (its email)
// before UpdateAutomation saves the same input.
func (s *Store) PreviewAutomation(ctx context.Context, id int64, in AutomationInput) (AutomationInput, Automation, error) {
	var a Automation
	err := func() error {
		tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if a, err = scanAutomation(tx.QueryRowContext(ctx, `SELECT `+automationColumns+` FROM automations WHERE id = ?`, id)); err != nil {
			return err
		}
		var next int64
		if err := tx.QueryRowContext(ctx, `SELECT next_step FROM automations WHERE id = ?`, id).Scan(&next); err != nil {
			return err
		}
		a.apply(in)
		a.Flow.number(next)
		if in.Flow != nil {
			flow := a.Flow
			in.Flow = &flow
		}
		return s.checkAutomation(ctx, tx, a)
	}()
	if err != nil {
		return in, a, wrapValidation(err, fmt.Sprintf("store: automation %d", id))
	}
	return in, a, nil
}

// UpdateAutomation changes an automation. A flow may change while contacts
// are in it: each keeps their place, since steps keep their ids. Contacts
// waiting at a step the new flow drops go where MoveFrom says; if it says
// nothing for such a step the change is refused, naming it and how many
// wait there.
func (s *Store) UpdateAutomation(ctx context.Context, id int64, in AutomationInput) (Automation, error) {
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		a, err := scanAutomation(tx.QueryRowContext(ctx, `SELECT `+automationColumns+` FROM automations WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if a.Status == AutomationArchived {
			return &ValidationError{Fields: map[string]string{"status": "An archived automation cannot change."}}
		}
		var next int64
		if err := tx.QueryRowContext(ctx, `SELECT next_step FROM automations WHERE id = ?`, id).Scan(&next); err != nil {
			return err
		}
		before := a.Trigger
		a.apply(in)
		next = a.Flow.number(next)
		if err := s.checkAutomation(ctx, tx, a); err != nil {
			return err
		}
		if a.Trigger != before {
			// Paused or not: what the old trigger worked out (dates, who was
			// in its segment) is forgotten.
			if err := s.datesChanged(ctx, tx, a, true); err != nil {
				return err
			}
		}
		if in.Flow != nil {
			if err := s.moveDropped(ctx, tx, a, in.MoveFrom); err != nil {
				return err
			}
			if err := rewaitJourneys(ctx, tx, a); err != nil {
				return err
			}
		}
		args, err := a.columns()
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE automations SET name = ?, trigger = ?, trigger_kind = ?, trigger_ref = ?, trigger_key = ?, entry = ?,
	goal_event = ?, flow = ?, next_step = ?, updated_at = ? WHERE id = ?`, append(args, next, unix(s.now()), id)...)
		return err
	})
	if err != nil {
		return Automation{}, wrapValidation(err, fmt.Sprintf("store: update automation %d", id))
	}
	return s.Automation(ctx, id)
}

// rewaitJourneys points the journeys waiting at each wait-for-event step
// at the event the step now names.
func rewaitJourneys(ctx context.Context, tx *sql.Tx, a Automation) error {
	var err error
	a.Flow.Walk(func(st *Step) {
		if st.Kind != StepWaitEvent || err != nil {
			return
		}
		_, err = tx.ExecContext(ctx, `UPDATE automation_journeys SET waiting_for = ? WHERE automation_id = ? AND step_id = ? AND status = 'active'
	AND waiting_for != '' AND waiting_for != ?`, st.Event, a.ID, st.ID, st.Event)
	})
	return err
}

// moveDropped moves the journeys at steps the flow a no longer has to the
// steps moves names, and refuses the change when one is not named.
func (s *Store) moveDropped(ctx context.Context, tx *sql.Tx, a Automation, moves map[int64]int64) error {
	plan := a.Flow.Plan()
	// Test journeys at a dropped step simply end.
	var dropped []int64
	ids, err := queryIDs(ctx, tx, `SELECT DISTINCT step_id FROM automation_journeys WHERE automation_id = ? AND status = 'active' AND test = 1`, a.ID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, ok := plan.Step(id); !ok {
			dropped = append(dropped, id)
		}
	}
	if len(dropped) > 0 {
		if err := s.endJourneys(ctx, tx, `automation_id = ? AND status = 'active' AND test = 1 AND step_id IN (SELECT value FROM json_each(?))`,
			[]any{a.ID, idList(dropped)}, JourneyExited, "The step was removed from the flow."); err != nil {
			return err
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT step_id, count(*) FROM automation_journeys WHERE automation_id = ? AND status = 'active' AND test = 0 GROUP BY step_id`, a.ID)
	if err != nil {
		return err
	}
	held := map[int64]int{}
	for rows.Next() {
		var step int64
		var n int
		if err := rows.Scan(&step, &n); err != nil {
			rows.Close()
			return err
		}
		if _, ok := plan.Step(step); !ok {
			held[step] = n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	errs := map[string]string{}
	now := s.now()
	for step, n := range held {
		to, ok := moves[step]
		if !ok {
			errs[fmt.Sprintf("move.%d", step)] = fmt.Sprintf("%d contacts wait at step %d, which this change removes: say where they go (a step, or 0 to end their journeys).", n, step)
			continue
		}
		if _, exists := plan.Step(to); !exists && to != 0 {
			errs[fmt.Sprintf("move.%d", step)] = fmt.Sprintf("There is no step %d to move them to.", to)
			continue
		}
		if to == 0 {
			if err := s.endJourneys(ctx, tx, `automation_id = ? AND step_id = ? AND status = 'active'`, []any{a.ID, step},
				JourneyExited, "The step was removed from the flow."); err != nil {
				return err
			}
			continue
		}
		st, _ := plan.Step(to)
		due, waiting := stepDue(*st, now, s.location(ctx), false)
		if _, err := tx.ExecContext(ctx, `INSERT INTO automation_history (journey_id, step_id, at, outcome, detail)
SELECT id, step_id, ?, 'moved', ? FROM automation_journeys WHERE automation_id = ? AND step_id = ? AND status = 'active'`,
			unix(now), fmt.Sprintf("The step was removed; moved to step %d.", to), a.ID, step); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE automation_journeys SET step_id = ?, step_started = ?, due_at = ?, waiting_for = ?, lease_until = NULL, updated_at = ?
WHERE automation_id = ? AND step_id = ? AND status = 'active'`, to, unix(now), unix(due), waiting, unix(now), a.ID, step); err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	return nil
}

// SetAutomationStatus moves an automation to status: active from draft or
// paused, paused from active, archived from any. Archiving ends every
// journey in it.
func (s *Store) SetAutomationStatus(ctx context.Context, id int64, status string) (Automation, error) {
	from := map[string][]string{
		AutomationActive:   {AutomationDraft, AutomationPaused},
		AutomationPaused:   {AutomationActive},
		AutomationArchived: {AutomationDraft, AutomationActive, AutomationPaused},
	}[status]
	if from == nil {
		return Automation{}, &ValidationError{Fields: map[string]string{"status": fmt.Sprintf("%q is not a status an automation can be set to.", status)}}
	}
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var cur string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM automations WHERE id = ?`, id).Scan(&cur); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if !slices.Contains(from, cur) {
			return &ValidationError{Fields: map[string]string{"status": fmt.Sprintf("The automation is %s; it cannot become %s.", cur, status)}}
		}
		now := unix(s.now())
		if _, err := tx.ExecContext(ctx, `UPDATE automations SET status = ?, updated_at = ?,
	activated_at = CASE WHEN ? = 'active' THEN coalesce(activated_at, ?) ELSE activated_at END WHERE id = ?`, status, now, status, now, id); err != nil {
			return err
		}
		if status == AutomationActive {
			a, err := scanAutomation(tx.QueryRowContext(ctx, `SELECT `+automationColumns+` FROM automations WHERE id = ?`, id))
			if err != nil {
				return err
			}
			return s.datesChanged(ctx, tx, a, false)
		}
		if status != AutomationArchived {
			return nil
		}
		return s.endJourneys(ctx, tx, `automation_id = ? AND status = 'active'`, []any{id}, JourneyExited, "The automation was archived.")
	})
	if err != nil {
		return Automation{}, wrapValidation(err, fmt.Sprintf("store: automation %d", id))
	}
	return s.Automation(ctx, id)
}

// DeleteAutomation deletes a draft or archived automation with its
// journeys. The email it sent stays, as sent campaigns named after its
// steps, in its recipients' timelines and the reports.
func (s *Store) DeleteAutomation(ctx context.Context, id int64) error {
	a, err := s.Automation(ctx, id)
	if err != nil {
		return err
	}
	if a.Status != AutomationDraft && a.Status != AutomationArchived {
		return &ValidationError{Fields: map[string]string{"status": "Archive the automation before deleting it."}}
	}
	now := unix(s.now())
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		// The email it sent stays, as campaigns of their own: the record of
		// who got what. What had not gone yet never will.
		// They are cancelled campaigns: a send in flight that comes back
		// is cancelled too, and none can be resent.
		// A campaign none of whose sends was ever tried goes; one with a
		// send sent, failed or in a worker's hands stays, with its record.
		for _, q := range []string{
			`DELETE FROM campaigns WHERE automation_id = ?2 AND NOT EXISTS (SELECT 1 FROM sends WHERE campaign_id = campaigns.id
	AND status NOT IN ('queued', 'retrying', 'cancelled'))`,
			`UPDATE sends SET status = 'cancelled', updated_at = ?1 WHERE status IN ('queued', 'retrying', 'sending')
	AND campaign_id IN (SELECT id FROM campaigns WHERE automation_id = ?2)`,
			`UPDATE campaigns SET automation_id = NULL, status = 'cancelled', finished_at = ?1, updated_at = ?1,
	name = substr(name || CASE WHEN automation_entry > 1 THEN ' · entry ' || automation_entry ELSE '' END || ' (automation deleted)', 1, 200)
WHERE automation_id = ?2`,
			`DELETE FROM automations WHERE id = ?2`,
		} {
			if _, err := tx.ExecContext(ctx, q, now, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete automation %d: %w", id, err)
	}
	return nil
}

// inUse refuses to delete what an automation that is not archived names
// under key (list_id, template_id, webhook_id, segment_id), in its trigger
// or its flow: the automation would fail where it uses it.
func (s *Store) inUse(ctx context.Context, key string, id int64, what string) error {
	as, err := queryAll(ctx, s, "automations", scanAutomation, `SELECT `+automationColumns+` FROM automations WHERE status != 'archived'`)
	if err != nil {
		return err
	}
	for _, a := range as {
		if a.uses(key, id) {
			return &ValidationError{Fields: map[string]string{"id": fmt.Sprintf("The automation %q uses this %s: change or archive the automation first.", a.Name, what)}}
		}
	}
	return nil
}

// uses reports whether the automation names id as key (list_id,
// template_id, webhook_id, segment_id) in its trigger, its steps or the
// list conditions of its steps' rules.
func (a Automation) uses(key string, id int64) bool {
	t := a.Trigger
	found := map[string]int64{"list_id": t.ListID, "segment_id": t.SegmentID}[key] == id
	a.Flow.Walk(func(st *Step) {
		switch key {
		case "list_id":
			found = found || st.ListID == id || (st.Rule != nil && ruleNamesList(*st.Rule, id))
		case "template_id":
			found = found || st.TemplateID == id
		case "webhook_id":
			found = found || st.WebhookID == id
		}
	})
	return found
}

// ruleNamesList reports whether a rule has a list condition naming list id.
func ruleNamesList(r Rule, id int64) bool {
	if r.Field == "list" {
		var one int64
		var many []int64
		if json.Unmarshal(r.Value, &one) == nil && one == id {
			return true
		}
		if json.Unmarshal(r.Value, &many) == nil && slices.Contains(many, id) {
			return true
		}
	}
	for _, c := range r.Conditions {
		if ruleNamesList(c, id) {
			return true
		}
	}
	return false
}

// wrapValidation passes a ValidationError or ErrNotFound through as it is,
// and wraps any other error with what was being done.
func wrapValidation(err error, doing string) error {
	var ve *ValidationError
	if errors.As(err, &ve) || errors.Is(err, ErrNotFound) {
		return err
	}
	return fmt.Errorf("%s: %w", doing, err)
}
