package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// JourneyTx is one claimed journey inside the transaction that advances
// it. Every step's effect (a tag, a list, an attribute, an email in the
// outbox, a webhook event, a message to the owners) and the journey's move
// to its next step commit together, or not at all: a crash makes the
// journey due again at the step it was at, with nothing of it done.
type JourneyTx struct {
	s   *Store
	ctx context.Context
	tx  *sql.Tx
	// J is the journey as it moves; Step is where it is.
	J   *Journey
	Now time.Time
	Loc *time.Location
	b   *advanceBatch
	// status caches ContactStatus.
	status *contactStatus
}

type contactStatus struct {
	status     string
	suppressed bool
}

// advanceBatch is what the journeys of one batch share: ids and lookups
// read once, and counts written once at the end.
type advanceBatch struct {
	stmts     map[string]*sql.Stmt
	tags      map[string]int64
	triggers  map[string][]enrolling
	campaigns map[[3]int64]int64
	// recipients counts, by campaign, the sends queued.
	recipients map[int64]int
	// passed counts, by automation and step, the journeys of non-test runs
	// that moved on; ended by automation and counter, those that ended.
	passed map[int64]map[int64]int
	ended  map[int64]map[string]int
}

func (b *advanceBatch) count(m map[int64]map[string]int, id int64, key string) {
	if m[id] == nil {
		m[id] = map[string]int{}
	}
	m[id][key]++
}

// Statements a batch runs for every journey, prepared once.
const (
	historySQL     = `INSERT INTO automation_history (journey_id, step_id, at, outcome, detail) VALUES (?, ?, ?, ?, ?)`
	saveJourneySQL = `UPDATE automation_journeys SET status = ?, step_id = ?, step_started = ?, waiting_for = ?, due_at = ?,
	lease_until = NULL, end_reason = ?, ended_at = ?, updated_at = ? WHERE id = ? AND lease_until = ? AND status = 'active'`
	contactStatusSQL = `SELECT status, EXISTS (SELECT 1 FROM suppressions sp WHERE (sp.kind = 'email' AND sp.value = email)
	OR (sp.kind = 'domain' AND sp.value = substr(email, instr(email, '@') + 1)))
FROM contacts WHERE id = ? AND erased_at IS NULL`
	queueSendSQL = `INSERT INTO sends (campaign_id, contact_id, email, updated_at, next_attempt_at)
SELECT ?, id, email, ?, ? FROM contacts WHERE id = ? ON CONFLICT DO NOTHING`
	tagContactSQL = `INSERT OR IGNORE INTO contact_tags (tag_id, contact_id) VALUES (?, ?)`
)

var batchStatements = []string{historySQL, saveJourneySQL, queueSendSQL, tagContactSQL}

// exec runs one of the batch's statements, prepared on the writer before
// the batch began.
func (jt *JourneyTx) exec(q string, args ...any) (sql.Result, error) {
	return jt.tx.StmtContext(jt.ctx, jt.b.stmts[q]).ExecContext(jt.ctx, args...)
}

// errLeaseLost says a journey's claim is no longer this process's.
var errLeaseLost = errors.New("store: journey lease lost")

// AdvanceJourneys runs step for each claimed journey, all in one write
// transaction, and writes where each ended up. A journey whose lease is no
// longer the claim's (another process took it over, or it ended
// meanwhile) is left as it is. A step that fails rolls back that journey's
// part alone, and the journey fails with the error as its reason.
func (s *Store) AdvanceJourneys(ctx context.Context, js []Journey, loc *time.Location, step func(jt *JourneyTx) error) (advanced int, err error) {
	if len(js) == 0 {
		return 0, nil
	}
	// Prepared before the transaction takes the writer's one connection:
	// preparing waits for it.
	stmts := map[string]*sql.Stmt{}
	for _, q := range batchStatements {
		st, err := s.writeStmt(ctx, q)
		if err != nil {
			return 0, fmt.Errorf("store: advance journeys: %w", err)
		}
		stmts[q] = st
	}
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		advanced = 0
		b := &advanceBatch{stmts: stmts, tags: map[string]int64{}, triggers: map[string][]enrolling{}, campaigns: map[[3]int64]int64{},
			recipients: map[int64]int{}, passed: map[int64]map[int64]int{}, ended: map[int64]map[string]int{}}
		for i := range js {
			ok, err := s.advanceOne(ctx, tx, b, js[i], loc, step)
			if err != nil {
				return err
			}
			if ok {
				advanced++
			}
		}
		return b.flush(ctx, tx)
	})
	if err != nil {
		return 0, fmt.Errorf("store: advance journeys: %w", err)
	}
	return advanced, nil
}

// advanceOne runs step for one journey inside a savepoint, and reports
// whether the journey was still the claim's to advance.
func (s *Store) advanceOne(ctx context.Context, tx *sql.Tx, b *advanceBatch, j Journey, loc *time.Location, step func(jt *JourneyTx) error) (bool, error) {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT journey`); err != nil {
		return false, err
	}
	claimed := j
	ctx = context.WithValue(ctx, stepCause{}, true)
	// Claimed, it was due: its due time is the lease's until it moves.
	j.DueAt = s.now()
	jt := &JourneyTx{s: s, ctx: ctx, tx: tx, J: &j, Now: j.DueAt, Loc: loc, b: &advanceBatch{}}
	*jt.b = *b
	jt.b.recipients, jt.b.passed, jt.b.ended = map[int64]int{}, map[int64]map[int64]int{}, map[int64]map[string]int{}
	err := step(jt)
	if err == nil {
		err = jt.save(claimed.lease)
	}
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO journey`); rerr != nil {
			return false, rerr
		}
		// What the batch learnt may name rows the rollback undid (a tag, a
		// step's campaign for an entry): it is learnt again.
		b.tags, b.triggers, b.campaigns = map[string]int64{}, map[string][]enrolling{}, map[[3]int64]int64{}
		if errors.Is(err, errLeaseLost) {
			_, rerr := tx.ExecContext(ctx, `RELEASE journey`)
			return false, rerr
		}
		failedAt := j.StepID
		j = claimed
		j.DueAt = s.now()
		j.StepID = failedAt // the failure is the step's that failed
		jt = &JourneyTx{s: s, ctx: ctx, tx: tx, J: &j, Now: j.DueAt, Loc: loc, b: &advanceBatch{}}
		*jt.b = *b
		jt.b.recipients, jt.b.passed, jt.b.ended = map[int64]int{}, map[int64]map[int64]int{}, map[int64]map[string]int{}
		if err := jt.End(JourneyFailed, "Failed: "+err.Error()); err != nil {
			return false, err
		}
		if err := jt.save(claimed.lease); err != nil && !errors.Is(err, errLeaseLost) {
			return false, err
		}
	}
	if _, err := tx.ExecContext(ctx, `RELEASE journey`); err != nil {
		return false, err
	}
	// The journey's part stands: its counts join the batch's.
	for c, n := range jt.b.recipients {
		b.recipients[c] += n
	}
	for a, steps := range jt.b.passed {
		for st, n := range steps {
			if b.passed[a] == nil {
				b.passed[a] = map[int64]int{}
			}
			b.passed[a][st] += n
		}
	}
	for a, cs := range jt.b.ended {
		for c, n := range cs {
			if b.ended[a] == nil {
				b.ended[a] = map[string]int{}
			}
			b.ended[a][c] += n
		}
	}
	return true, nil
}

// flush writes the batch's counts.
func (b *advanceBatch) flush(ctx context.Context, tx *sql.Tx) error {
	for automation, steps := range b.passed {
		for step, n := range steps {
			if _, err := tx.ExecContext(ctx, `INSERT INTO automation_step_counts (automation_id, step_id, passed) VALUES (?, ?, ?)
ON CONFLICT DO UPDATE SET passed = passed + excluded.passed`, automation, step, n); err != nil {
				return err
			}
		}
	}
	for automation, counters := range b.ended {
		for counter, n := range counters {
			if _, err := tx.ExecContext(ctx, `UPDATE automations SET `+counter+` = `+counter+` + ? WHERE id = ?`, n, automation); err != nil {
				return err
			}
		}
	}
	for campaign, n := range b.recipients {
		if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET recipients = recipients + ? WHERE id = ?`, n, campaign); err != nil {
			return err
		}
	}
	return nil
}

// save writes where the journey is, releasing its claim; errLeaseLost when
// the claim is no longer lease.
func (jt *JourneyTx) save(lease int64) error {
	j := jt.J
	var ended any
	if !j.EndedAt.IsZero() {
		ended = unix(j.EndedAt)
	}
	res, err := jt.exec(saveJourneySQL, j.Status, j.StepID, unix(j.StepStarted), j.WaitingFor, unix(j.DueAt), j.EndReason, ended, unix(jt.Now), j.ID, lease)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errLeaseLost
	}
	return nil
}

// Record writes what happened at the journey's current step.
func (jt *JourneyTx) Record(outcome, detail string) error {
	_, err := jt.exec(historySQL, jt.J.ID, jt.J.StepID, unix(jt.Now), outcome, detail)
	return err
}

// MoveTo moves the journey past its current step to next, due when next
// says; next nil ends the journey, completed.
func (jt *JourneyTx) MoveTo(next *Step) error {
	if !jt.J.Test {
		if jt.b.passed[jt.J.AutomationID] == nil {
			jt.b.passed[jt.J.AutomationID] = map[int64]int{}
		}
		jt.b.passed[jt.J.AutomationID][jt.J.StepID]++
	}
	if next == nil {
		return jt.End(JourneyCompleted, "Reached the end of the flow.")
	}
	due, waiting := stepDue(*next, jt.Now, jt.Loc, jt.J.Test)
	jt.J.StepID, jt.J.StepStarted, jt.J.DueAt, jt.J.WaitingFor = next.ID, jt.Now, due, waiting
	return nil
}

// End ends the journey with status and why.
func (jt *JourneyTx) End(status, why string) error {
	if err := jt.Record(status, why); err != nil {
		return err
	}
	jt.J.Status, jt.J.EndReason, jt.J.EndedAt, jt.J.WaitingFor, jt.J.DueAt = status, why, jt.Now, "", jt.Now
	if jt.J.Test {
		return nil
	}
	if counter := endCounters[status]; counter != "" {
		jt.b.count(jt.b.ended, jt.J.AutomationID, counter)
	}
	return nil
}

// endCounters are the automations' columns that count journeys ended so.
var endCounters = map[string]string{JourneyExited: "exited", JourneyConverted: "converted", JourneyCompleted: "completed"}

// ContactStatus is the contact's status now (active, unsubscribed,
// bounced, complained, blocked), and whether their address is suppressed.
func (jt *JourneyTx) ContactStatus() (status string, suppressed bool, err error) {
	if jt.status != nil {
		return jt.status.status, jt.status.suppressed, nil
	}
	err = jt.tx.QueryRowContext(jt.ctx, contactStatusSQL, jt.J.ContactID).Scan(&status, &suppressed)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, ErrNotFound
	}
	if err == nil {
		jt.status = &contactStatus{status, suppressed}
	}
	return status, suppressed, err
}

// AddTag gives the contact a tag, which may start automations of its own.
func (jt *JourneyTx) AddTag(name string) (added bool, err error) {
	name = strings.TrimSpace(name)
	id, ok := jt.b.tags[name]
	if !ok {
		if id, err = jt.s.tagID(jt.ctx, jt.tx, name); err != nil {
			return false, err
		}
		jt.b.tags[name] = id
	}
	res, err := jt.exec(tagContactSQL, id, jt.J.ContactID)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	key := strings.ToLower(name)
	as, ok := jt.b.triggers[key]
	if !ok {
		if as, err = jt.s.triggerAutomations(jt.ctx, jt.tx, TriggerTag, 0, key); err != nil {
			return false, err
		}
		jt.b.triggers[key] = as
	}
	for _, a := range as {
		if _, err := jt.s.enroll(jt.ctx, jt.tx, a, Enrollment{ContactID: jt.J.ContactID, Source: "tag " + name}); err != nil {
			return false, err
		}
	}
	return true, nil
}

// RemoveTag takes a tag off the contact.
func (jt *JourneyTx) RemoveTag(name string) (removed bool, err error) {
	res, err := jt.tx.ExecContext(jt.ctx, `DELETE FROM contact_tags WHERE contact_id = ? AND tag_id IN (SELECT id FROM tags WHERE name = ?)`,
		jt.J.ContactID, strings.TrimSpace(name))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// AddToList puts the contact on a list, confirmed, unless they
// unsubscribed from it: that stays.
func (jt *JourneyTx) AddToList(listID int64) (added bool, err error) {
	var status string
	err = jt.tx.QueryRowContext(jt.ctx, `SELECT status FROM list_members WHERE list_id = ? AND contact_id = ?`, listID, jt.J.ContactID).Scan(&status)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	if status == MemberUnsubscribed || status == MemberConfirmed {
		return false, nil
	}
	return true, jt.s.subscribe(jt.ctx, jt.tx, jt.J.ContactID, listID, MemberConfirmed, unix(jt.Now))
}

// RemoveFromList unsubscribes the contact from a list.
func (jt *JourneyTx) RemoveFromList(listID int64, automation string) (removed bool, err error) {
	var name string
	now := unix(jt.Now)
	err = jt.tx.QueryRowContext(jt.ctx, `UPDATE list_members SET status = 'unsubscribed', updated_at = ? WHERE list_id = ? AND contact_id = ? AND status <> 'unsubscribed'
RETURNING (SELECT name FROM lists WHERE id = list_id)`, now, listID, jt.J.ContactID).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := recordEvent(jt.ctx, jt.tx, jt.J.ContactID, EventRemoved, "Removed from "+name+" by the automation "+automation, now); err != nil {
		return false, err
	}
	return true, jt.s.emitMembership(jt.ctx, jt.tx, jt.J.ContactID, listID, MemberUnsubscribed)
}

// SetAttribute sets one of the contact's attributes to value, JSON.
func (jt *JourneyTx) SetAttribute(name string, value json.RawMessage) error {
	patch, err := json.Marshal(map[string]json.RawMessage{name: value})
	if err != nil {
		return err
	}
	if err := checkMergedAttributes(jt.ctx, jt.tx, jt.J.ContactID, string(patch)); err != nil {
		return err
	}
	if _, err := jt.tx.ExecContext(jt.ctx, `UPDATE contacts SET attributes = json_set(attributes, '$.' || ?, json(?)), updated_at = ? WHERE id = ?`,
		name, string(value), unix(jt.Now), jt.J.ContactID); err != nil {
		return err
	}
	return jt.s.emitContact(jt.ctx, jt.tx, EventContactUpdated, jt.J.ContactID)
}

// Matches reports whether the contact meets a segment-style rule now.
func (jt *JourneyTx) Matches(r Rule) (bool, error) {
	c, err := CompileRule(r, jt.Now)
	if err != nil {
		return false, err
	}
	var ok bool
	err = jt.tx.QueryRowContext(jt.ctx, `SELECT EXISTS (SELECT 1 FROM contacts c WHERE c.id = ? AND (`+c.Where+`))`,
		append([]any{jt.J.ContactID}, c.Args...)...).Scan(&ok)
	return ok, err
}

// QueueEmail puts the email of the journey's step into the outbox for its
// contact, through the campaign of the step for the journey's entry (made
// from the first entry's on first use). skipped says why nothing was
// queued: the contact may not be mailed, or had it already in this
// journey.
func (jt *JourneyTx) QueueEmail() (campaignID int64, skipped string, err error) {
	j := jt.J
	status, suppressed, err := jt.ContactStatus()
	if err != nil {
		return 0, "", err
	}
	if status != StatusActive || suppressed {
		return 0, "not sent: the contact is " + map[bool]string{true: "suppressed", false: status}[suppressed], nil
	}
	campaignID, err = jt.stepCampaign()
	if err != nil {
		return 0, "", err
	}
	if j.Test {
		// A test may run again for the same contact: the last test's send goes.
		if _, err := jt.tx.ExecContext(jt.ctx, `DELETE FROM sends WHERE campaign_id = ? AND contact_id = ? AND status NOT IN ('sending')`, campaignID, j.ContactID); err != nil {
			return 0, "", err
		}
	}
	now := unix(jt.Now)
	res, err := jt.exec(queueSendSQL, campaignID, now, now, j.ContactID)
	if err != nil {
		return 0, "", err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return campaignID, "not sent again: the contact had this email earlier in this journey", nil
	}
	jt.b.recipients[campaignID]++
	return campaignID, "", nil
}

// stepCampaign is the campaign that sends the journey step's email for the
// journey's entry.
func (jt *JourneyTx) stepCampaign() (id int64, err error) {
	j := jt.J
	key := [3]int64{j.AutomationID, j.StepID, int64(j.Entry)}
	if id, ok := jt.b.campaigns[key]; ok {
		return id, nil
	}
	defer func() {
		if err == nil {
			jt.b.campaigns[key] = id
		}
	}()
	err = jt.tx.QueryRowContext(jt.ctx, `SELECT id FROM campaigns WHERE automation_id = ? AND automation_step = ? AND automation_entry = ?`,
		j.AutomationID, j.StepID, j.Entry).Scan(&id)
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return id, err
	}
	err = jt.tx.QueryRowContext(jt.ctx, `INSERT INTO campaigns (`+editionColumns+`, automation_entry)
SELECT `+strings.Replace(editionColumns, "recipients", "0", 1)+`, ? FROM campaigns WHERE automation_id = ? AND automation_step = ? AND automation_entry = 1 RETURNING id`,
		j.Entry, j.AutomationID, j.StepID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("step %d has no email ready: pause and activate the automation again", j.StepID)
	}
	return id, err
}

// editionColumns are what a step's campaign for a later entry copies from
// its first.
const editionColumns = `name, subject, preheader, from_name, from_email, reply_to, template_id, format, body, text_body, layout_id, relay_id,
	status, frozen, materialised, recipients, created_at, updated_at, started_at, track_opens, track_clicks, utm_source, utm_medium, utm_campaign,
	automation_id, automation_step`

// AutomationStepEvent is the event type of a webhook step's call.
const AutomationStepEvent = "automation.step"

// StepEventData is what a webhook step's event carries.
type StepEventData struct {
	Automation ListRef        `json:"automation"`
	Step       int64          `json:"step"`
	Contact    ContactRef     `json:"contact"`
	Journey    int64          `json:"journey_id"`
	Attributes map[string]any `json:"attributes"`
}

// CallWebhook queues an automation.step event to one endpoint, delivered,
// signed and retried like every other event.
func (jt *JourneyTx) CallWebhook(endpointID int64, automation string) error {
	d := StepEventData{Automation: ListRef{ID: jt.J.AutomationID, Name: automation}, Step: jt.J.StepID, Journey: jt.J.ID}
	var attrs string
	if err := jt.tx.QueryRowContext(jt.ctx, `SELECT id, email, attributes FROM contacts WHERE id = ?`, jt.J.ContactID).
		Scan(&d.Contact.ID, &d.Contact.Email, &attrs); err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(attrs), &d.Attributes); err != nil {
		return err
	}
	var n int
	if err := jt.tx.QueryRowContext(jt.ctx, `SELECT count(*) FROM webhooks WHERE id = ?`, endpointID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("webhook endpoint %d no longer exists", endpointID)
	}
	return jt.s.enqueueEvent(jt.ctx, jt.tx, AutomationStepEvent, d, []int64{endpointID})
}

// QueueMessages queues system messages, such as a note to the owners.
func (jt *JourneyTx) QueueMessages(ms []NewMessage) error {
	for _, m := range ms {
		if _, _, err := insertMessage(jt.ctx, jt.tx, m, unix(jt.Now)); err != nil {
			return err
		}
	}
	return nil
}
