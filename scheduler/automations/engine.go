// Package automations runs automations: it moves each contact's journey
// through its flow as its steps fall due, and is the service the admin and
// the API call to change, activate, test and fill them.
package automations

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"herald/scheduler"
	"herald/scheduler/outbound"
	"herald/store"
)

// Config builds an Engine.
type Config struct {
	Store    *store.Store
	Outbound *outbound.Service
	Log      *slog.Logger
	// Batch is how many journeys one claim takes; Lease how long a claim
	// holds; Every how often the engine looks for due journeys.
	Batch int
	Lease time.Duration
	Every time.Duration
}

// Engine moves journeys through their automations. Build it with New; Run
// drives it.
type Engine struct {
	st     *store.Store
	out    *outbound.Service
	log    *slog.Logger
	batch  int
	lease  time.Duration
	every  time.Duration
	signal scheduler.Signal
	// segmentChecked is when each segment trigger was last looked at.
	segmentChecked map[int64]time.Time
}

// New builds an Engine.
func New(cfg Config) *Engine {
	e := &Engine{st: cfg.Store, out: cfg.Outbound, log: cfg.Log, batch: cfg.Batch, lease: cfg.Lease, every: cfg.Every, segmentChecked: map[int64]time.Time{}}
	if e.batch <= 0 {
		e.batch = 500
	}
	if e.lease <= 0 {
		e.lease = 2 * time.Minute
	}
	if e.every <= 0 {
		e.every = time.Second
	}
	return e
}

// Wake makes the engine look for due journeys now, as after an enrollment.
func (e *Engine) Wake() { e.signal.Wake() }

// Run advances due journeys until ctx ends. It first makes the journeys a
// stopped process had claimed due again: none of their steps was done,
// since a step and the journey's move commit together.
func (e *Engine) Run(ctx context.Context) error {
	n, err := e.st.ReleaseJourneys(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		e.log.Info("journeys claimed by the last run taken up again", "count", n)
	}
	tick := time.NewTicker(e.every)
	defer tick.Stop()
	for {
		wake := e.signal.Next()
		full, err := e.Pass(ctx)
		if err != nil && ctx.Err() == nil {
			e.log.Error("advancing journeys", "err", err)
		}
		if full && err == nil {
			continue // more may be due at once
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-wake:
		}
	}
}

// Pass works out the dates of contacts whose attributes changed, starts
// the journeys of dates that are due, then claims one batch of due
// journeys and advances each as far as it can go now. full says a batch
// was full, so more may be due.
func (e *Engine) Pass(ctx context.Context) (full bool, err error) {
	refreshed, err := e.st.RefreshDates(ctx, 10*e.batch)
	if err != nil {
		return false, err
	}
	fired, err := e.st.FireDates(ctx, e.batch)
	if err != nil {
		return false, err
	}
	if err := e.checkSegments(ctx); err != nil {
		return false, err
	}
	full, err = e.advance(ctx)
	return full || refreshed == 10*e.batch || fired == e.batch, err
}

// SegmentEvery is how often the engine looks at who is in the segments
// that start automations.
const SegmentEvery = time.Minute

// checkSegments looks, at most every SegmentEvery, at who came into the
// segments that start automations, a batch of contacts at a time.
func (e *Engine) checkSegments(ctx context.Context) error {
	as, err := e.st.SegmentAutomations(ctx)
	if err != nil {
		return err
	}
	now := e.st.Now()
	for _, a := range as {
		if last, ok := e.segmentChecked[a.ID]; ok && now.Sub(last) < SegmentEvery {
			continue
		}
		e.segmentChecked[a.ID] = now
		for after := int64(0); ; {
			next, done, err := e.st.CheckSegment(ctx, a, after)
			if errors.Is(err, store.ErrNotFound) {
				// Its segment was deleted: nobody new comes in; the rest of
				// the engine goes on.
				e.log.Warn("an automation's segment no longer exists; nobody enters it", "automation", a.ID, "segment", a.Trigger.SegmentID)
				break
			}
			if err != nil {
				return err
			}
			if done {
				break
			}
			after = next
		}
	}
	return nil
}

// advance claims one batch of due journeys and advances each as far as it
// can go now.
func (e *Engine) advance(ctx context.Context) (full bool, err error) {
	js, err := e.st.ClaimJourneys(ctx, e.batch, e.lease)
	if err != nil || len(js) == 0 {
		return false, err
	}
	flows := map[int64]*flow{}
	for _, j := range js {
		if flows[j.AutomationID] != nil {
			continue
		}
		a, err := e.st.Automation(ctx, j.AutomationID)
		if err != nil {
			return false, err
		}
		flows[a.ID] = &flow{Automation: a, plan: a.Flow.Plan(), alerts: map[int64][]store.NewMessage{}}
	}
	loc := e.out.Location(ctx)
	// Owner alerts are built before the transaction: they read settings.
	for _, f := range flows {
		var walkErr error
		f.Flow.Walk(func(st *store.Step) {
			if st.Kind == store.StepNotify && walkErr == nil {
				f.alerts[st.ID], walkErr = e.out.OwnerAlerts(ctx, stepSubject(f.Automation, st), st.Text)
			}
		})
		if walkErr != nil {
			return false, walkErr
		}
	}
	sent := false
	_, err = e.st.AdvanceJourneys(ctx, js, loc, func(jt *store.JourneyTx) error {
		return e.walk(jt, flows[jt.J.AutomationID], &sent)
	})
	if err != nil {
		return false, err
	}
	if sent {
		e.out.Dispatcher().Wake()
	}
	return len(js) == e.batch, nil
}

// flow is an automation with its plan, for one pass.
type flow struct {
	store.Automation
	plan   store.Plan
	alerts map[int64][]store.NewMessage
}

// maxStepsAtOnce bounds how many steps one journey takes in one pass.
const maxStepsAtOnce = 100

// walk takes a journey through every step due now.
func (e *Engine) walk(jt *store.JourneyTx, f *flow, sent *bool) error {
	j := jt.J
	status, _, err := jt.ContactStatus()
	if err == store.ErrNotFound {
		return jt.End(store.JourneyExited, "The contact was erased.")
	}
	if err != nil {
		return err
	}
	if status == store.StatusUnsubscribed && f.Entry.ExitOnUnsubscribe {
		return jt.End(store.JourneyExited, "Unsubscribed.")
	}
	for i := 0; i < maxStepsAtOnce && j.Status == store.JourneyActive && !j.DueAt.After(jt.Now); i++ {
		st, ok := f.plan.Step(j.StepID)
		if !ok {
			return jt.End(store.JourneyExited, fmt.Sprintf("Step %d is no longer in the flow.", j.StepID))
		}
		branch, outcome, detail, err := e.run(jt, f, st)
		if err != nil {
			return fmt.Errorf("%s: %w", st.Title(), err)
		}
		if outcome == outcomeSent {
			*sent = true
		}
		if err := jt.Record(outcome, detail); err != nil {
			return err
		}
		if st.Kind == store.StepExit {
			return jt.End(store.JourneyExited, "Reached an Exit step.")
		}
		var next *store.Step
		if id := f.plan.Next(st.ID, branch); id != 0 {
			next, _ = f.plan.Step(id)
		}
		if err := jt.MoveTo(next); err != nil {
			return err
		}
	}
	return nil
}

// Outcomes a step records.
const (
	outcomeDone    = "done"
	outcomeSent    = "sent"
	outcomeSkipped = "skipped"
)

// run does one step for a journey, and says which branch follows (for a
// branching step), what happened and how.
func (e *Engine) run(jt *store.JourneyTx, f *flow, st *store.Step) (branch int, outcome, detail string, err error) {
	switch st.Kind {
	case store.StepWait:
		return 0, "waited", "", nil
	case store.StepWaitEvent:
		if jt.J.WaitingFor == "" {
			return 0, "yes", fmt.Sprintf("The event %s came.", st.Event), nil
		}
		return 1, "no", fmt.Sprintf("No %s event came in time.", st.Event), nil
	case store.StepEmail:
		campaign, skipped, err := jt.QueueEmail()
		if err != nil {
			return 0, "", "", err
		}
		if skipped != "" {
			return 0, outcomeSkipped, skipped, nil
		}
		return 0, outcomeSent, fmt.Sprintf("Queued in campaign %d.", campaign), nil
	case store.StepAddTag:
		added, err := jt.AddTag(st.Tag)
		return 0, outcomeDone, map[bool]string{true: "Tagged " + st.Tag + ".", false: "Already tagged " + st.Tag + "."}[added], err
	case store.StepRemoveTag:
		removed, err := jt.RemoveTag(st.Tag)
		return 0, outcomeDone, map[bool]string{true: "Untagged " + st.Tag + ".", false: "Had no tag " + st.Tag + "."}[removed], err
	case store.StepAddList:
		added, err := jt.AddToList(st.ListID)
		return 0, outcomeDone, map[bool]string{true: "Added to the list.", false: "Already on the list, or unsubscribed from it."}[added], err
	case store.StepRemoveList:
		removed, err := jt.RemoveFromList(st.ListID, f.Name)
		return 0, outcomeDone, map[bool]string{true: "Unsubscribed from the list.", false: "Was not on the list."}[removed], err
	case store.StepSetAttribute:
		return 0, outcomeDone, fmt.Sprintf("Set %s to %s.", st.Attribute, st.Value), jt.SetAttribute(st.Attribute, st.Value)
	case store.StepCondition:
		ok, err := jt.Matches(*st.Rule)
		if ok {
			return 0, "yes", "The condition held.", err
		}
		return 1, "no", "The condition did not hold.", err
	case store.StepSplit:
		b := pickShare(st.Percents, rand.IntN(100))
		return b, "branch " + string(rune('A'+b)), "", nil
	case store.StepWebhook:
		return 0, outcomeDone, fmt.Sprintf("Event queued for webhook endpoint %d.", st.WebhookID), jt.CallWebhook(st.WebhookID, f.Name)
	case store.StepNotify:
		ms := make([]store.NewMessage, len(f.alerts[st.ID]))
		for i, m := range f.alerts[st.ID] {
			m.Text = fmt.Sprintf("%s\n\nContact: %s\nAutomation: %s", m.Text, jt.J.Email, f.Name)
			ms[i] = m
		}
		return 0, outcomeDone, fmt.Sprintf("%d owners notified.", len(ms)), jt.QueueMessages(ms)
	case store.StepExit:
		return 0, outcomeDone, "", nil
	}
	return 0, "", "", fmt.Errorf("unknown kind of step %q", st.Kind)
}

// pickShare is the branch of a split whose share holds roll, 0 to 99.
func pickShare(percents []int, roll int) int {
	for i, p := range percents {
		if roll < p {
			return i
		}
		roll -= p
	}
	return len(percents) - 1
}

// stepSubject is a notify step's subject.
func stepSubject(a store.Automation, st *store.Step) string {
	if st.Subject != "" {
		return st.Subject
	}
	return fmt.Sprintf("Automation %q: a contact reached step %d", a.Name, st.ID)
}
