package store

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Kinds of automation step.
const (
	StepWait         = "wait"          // wait Seconds, or until one of Weekdays at At
	StepWaitEvent    = "wait_event"    // wait for Event, at most Seconds: branches happened, timed out
	StepEmail        = "email"         // send the campaign template TemplateID
	StepAddTag       = "add_tag"       // Tag
	StepRemoveTag    = "remove_tag"    // Tag
	StepAddList      = "add_list"      // ListID, confirmed
	StepRemoveList   = "remove_list"   // ListID: unsubscribed from it
	StepSetAttribute = "set_attribute" // Attribute = Value
	StepCondition    = "condition"     // Rule: branches yes, no
	StepSplit        = "split"         // Percents: one branch each
	StepWebhook      = "webhook"       // an event to the endpoint WebhookID
	StepNotify       = "notify"        // an email to the owners: Subject, Text
	StepExit         = "exit"
)

// StepKinds lists every kind of step, in the order the editor offers them.
var StepKinds = []string{StepEmail, StepWait, StepWaitEvent, StepCondition, StepSplit, StepAddTag, StepRemoveTag,
	StepAddList, StepRemoveList, StepSetAttribute, StepWebhook, StepNotify, StepExit}

// Flow is an automation's steps, in order; a branching step (a condition,
// a split, a wait for an event) ends its path, and each of its branches
// goes on with steps of its own. A path that runs out of steps ends the
// journey.
type Flow struct {
	Steps []Step `json:"steps"`
}

// Step is one step of a flow; which fields count depends on Kind.
type Step struct {
	ID   int64  `json:"id"`
	Kind string `json:"kind"`
	// Seconds is a wait's length, or a wait for an event's timeout.
	Seconds int64 `json:"seconds,omitempty"`
	// Weekdays (0 is Sunday) and At ("09:00", in the organisation's
	// timezone) make a wait last until the next such day and time.
	Weekdays []int  `json:"weekdays,omitempty"`
	At       string `json:"at,omitempty"`
	Event    string `json:"event,omitempty"`
	// An email step's template (a campaign design), and what it may change.
	TemplateID int64     `json:"template_id,omitempty"`
	Subject    string    `json:"subject,omitempty"`
	FromName   string    `json:"from_name,omitempty"`
	FromEmail  string    `json:"from_email,omitempty"`
	RelayID    int64     `json:"relay_id,omitempty"`
	Tracking   *Tracking `json:"tracking,omitempty"`
	Tag        string    `json:"tag,omitempty"`
	ListID     int64     `json:"list_id,omitempty"`
	Attribute  string    `json:"attribute,omitempty"`
	// Value is the attribute's new value, any JSON value.
	Value     json.RawMessage `json:"value,omitempty"`
	Rule      *Rule           `json:"rule,omitempty"`
	Percents  []int           `json:"percents,omitempty"`
	WebhookID int64           `json:"webhook_id,omitempty"`
	Text      string          `json:"text,omitempty"`
	// Branches are the paths out of a branching step, in the order of its
	// outcomes: yes then no, happened then timed out, or one a split share.
	Branches [][]Step `json:"branches,omitempty"`
}

// Branching reports whether the step ends its path with branches.
func (st Step) Branching() bool {
	return st.Kind == StepCondition || st.Kind == StepSplit || st.Kind == StepWaitEvent
}

// BranchLabels names a branching step's branches, in order.
func (st Step) BranchLabels() []string {
	switch st.Kind {
	case StepCondition:
		return []string{"Yes", "No"}
	case StepWaitEvent:
		return []string{"It happened", "Timed out"}
	case StepSplit:
		out := make([]string, len(st.Percents))
		for i, p := range st.Percents {
			out[i] = fmt.Sprintf("%c · %d%%", 'A'+i, p)
		}
		return out
	}
	return nil
}

// Limits of a flow.
const (
	MaxFlowSteps  = 200
	MaxFlowDepth  = 12
	MaxWaitSecond = 400 * 24 * 3600
	// MaxStepID bounds the step ids a client may give.
	MaxStepID = 1_000_000
)

// Plan is a flow indexed for walking: each step by id, and where a journey
// goes after it.
type Plan struct {
	steps map[int64]*Step
	next  map[int64]int64
}

// Plan indexes the flow. A step's next is the one after it on its path, 0
// at the end; a branching step's branches start at their first steps.
func (f Flow) Plan() Plan {
	p := Plan{steps: map[int64]*Step{}, next: map[int64]int64{}}
	var walk func(steps []Step)
	walk = func(steps []Step) {
		for i := range steps {
			st := &steps[i]
			p.steps[st.ID] = st
			if i+1 < len(steps) {
				p.next[st.ID] = steps[i+1].ID
			}
			for _, b := range st.Branches {
				walk(b)
			}
		}
	}
	walk(f.Steps)
	return p
}

// Step returns the step with id.
func (p Plan) Step(id int64) (*Step, bool) {
	st, ok := p.steps[id]
	return st, ok
}

// Next is where a journey goes after step id: for a branching step, the
// first step of branch (0 when that branch is empty, which ends the
// journey), otherwise the next step on its path.
func (p Plan) Next(id int64, branch int) int64 {
	st, ok := p.steps[id]
	if !ok {
		return 0
	}
	if st.Branching() {
		if branch < 0 || branch >= len(st.Branches) || len(st.Branches[branch]) == 0 {
			return 0
		}
		return st.Branches[branch][0].ID
	}
	return p.next[id]
}

// Walk calls fn for every step of the flow, depth first, in order.
func (f Flow) Walk(fn func(st *Step)) {
	var walk func(steps []Step)
	walk = func(steps []Step) {
		for i := range steps {
			fn(&steps[i])
			for _, b := range steps[i].Branches {
				walk(b)
			}
		}
	}
	walk(f.Steps)
}

// Count is how many steps the flow has.
func (f Flow) Count() int {
	n := 0
	f.Walk(func(*Step) { n++ })
	return n
}

var clockRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// validate checks the flow's shape and each step's own fields; what it
// refers to (lists, templates, endpoints) is checked against the database
// by the caller. Problems are keyed by step: "step 4". complete also asks
// for what a flow needs before it runs, which a draft being built may
// lack: a first step, and a step in every branch.
func (f Flow) validate(errs map[string]string, complete bool) {
	if f.Count() > MaxFlowSteps {
		errs["flow"] = fmt.Sprintf("A flow has at most %d steps.", MaxFlowSteps)
		return
	}
	seen := map[int64]bool{}
	var walk func(steps []Step, depth int, where string)
	walk = func(steps []Step, depth int, where string) {
		if depth > MaxFlowDepth {
			errs["flow"] = fmt.Sprintf("Branches nest at most %d deep.", MaxFlowDepth)
			return
		}
		for i := range steps {
			st := &steps[i]
			key := fmt.Sprintf("step %d", st.ID)
			if st.ID <= 0 || st.ID > MaxStepID || seen[st.ID] {
				errs["flow"] = fmt.Sprintf("Step ids must be unique, from 1 to %d (%d).", MaxStepID, st.ID)
				return
			}
			seen[st.ID] = true
			if msg := st.check(); msg != "" {
				errs[key] = msg
			}
			if st.Branching() && i+1 < len(steps) {
				errs[key] = fmt.Sprintf("%s has branches, so it ends its path: move the steps after it into its branches.", st.Title())
			}
			if !st.Branching() && len(st.Branches) > 0 {
				errs[key] = st.Title() + " has no branches."
			}
			labels := st.BranchLabels()
			for b, branch := range st.Branches {
				if len(branch) == 0 && complete && b < len(labels) {
					errs[fmt.Sprintf("%s branch %d", key, b+1)] = fmt.Sprintf("The %q branch of %s has no steps: add one, or an Exit to end there.",
						labels[b], st.Title())
				}
				walk(branch, depth+1, key)
			}
		}
	}
	walk(f.Steps, 0, "")
	if len(f.Steps) == 0 && complete {
		errs["flow"] = "Add a first step."
	}
}

// check looks at a step's own fields and says what is wrong, "" if nothing.
func (st *Step) check() string {
	wantBranches := 0
	switch st.Kind {
	case StepWait:
		switch {
		case st.Seconds > 0 && (len(st.Weekdays) > 0 || st.At != ""):
			return "Wait either for a time, or until a weekday and time, not both."
		case st.Seconds > 0:
			if st.Seconds < 60 || st.Seconds > MaxWaitSecond {
				return "Wait between a minute and 400 days."
			}
		case len(st.Weekdays) == 0 && st.At == "":
			return "Say how long to wait, or until which day and time."
		default:
			if !clockRE.MatchString(st.At) {
				return "Give the time of day as HH:MM, such as 09:00."
			}
			for _, d := range st.Weekdays {
				if d < 0 || d > 6 {
					return "Weekdays go from 0 (Sunday) to 6 (Saturday)."
				}
			}
		}
	case StepWaitEvent:
		wantBranches = 2
		if err := validEventName(st.Event); err != "" {
			return err
		}
		if st.Seconds < 60 || st.Seconds > MaxWaitSecond {
			return "Wait for the event between a minute and 400 days."
		}
	case StepEmail:
		if st.TemplateID == 0 {
			return "Choose the email's template."
		}
		if len(st.Subject) > 500 {
			return "A subject has at most 500 characters."
		}
	case StepAddTag, StepRemoveTag:
		if t := strings.TrimSpace(st.Tag); t == "" || len(t) > 100 {
			return "Name the tag (at most 100 characters)."
		}
	case StepAddList, StepRemoveList:
		if st.ListID == 0 {
			return "Choose the list."
		}
	case StepSetAttribute:
		if !AttributeKey.MatchString(st.Attribute) {
			return "Name the attribute: lower-case letters, digits and _, as in the contact's attributes."
		}
		var v any
		if len(st.Value) == 0 || json.Unmarshal(st.Value, &v) != nil {
			return "Give the attribute's new value as JSON: \"gold\", 3, true or null."
		}
		if msg := checkAttributes(map[string]any{st.Attribute: v}); msg != "" {
			return msg
		}
	case StepCondition:
		wantBranches = 2
		if st.Rule == nil {
			return "Give the condition."
		}
		if _, err := CompileRule(*st.Rule, time.Now()); err != nil {
			return "The condition: " + err.Error()
		}
	case StepSplit:
		wantBranches = len(st.Percents)
		sum := 0
		for _, p := range st.Percents {
			if p < 1 {
				return "Each share of a split is at least 1%."
			}
			sum += p
		}
		if len(st.Percents) < 2 || len(st.Percents) > 4 || sum != 100 {
			return "Split into 2 to 4 shares that add up to 100%."
		}
	case StepWebhook:
		if st.WebhookID == 0 {
			return "Choose the webhook endpoint to call."
		}
	case StepNotify:
		if strings.TrimSpace(st.Text) == "" || len(st.Text) > 5000 {
			return "Write what the owners are told (at most 5,000 characters)."
		}
		if len(st.Subject) > 500 {
			return "A subject has at most 500 characters."
		}
	case StepExit:
	default:
		return fmt.Sprintf("%q is not a kind of step; use one of %s.", st.Kind, strings.Join(StepKinds, ", "))
	}
	if len(st.Branches) != wantBranches && st.Branching() {
		return fmt.Sprintf("%s has %d branches, not %d.", st.Title(), wantBranches, len(st.Branches))
	}
	return ""
}

// Title names a step for people: "Step 4 (email)".
func (st *Step) Title() string {
	return fmt.Sprintf("Step %d (%s)", st.ID, strings.ReplaceAll(st.Kind, "_", " "))
}

// validEventName says what is wrong with a custom event's name, "" if
// nothing.
func validEventName(name string) string {
	if name == "" || len(name) > 100 {
		return "Name the event (at most 100 characters), such as purchase."
	}
	return ""
}

// number gives steps without an id (0) fresh ones from next, and returns
// the next free id.
func (f *Flow) number(next int64) int64 {
	max := next - 1
	f.Walk(func(st *Step) {
		if st.ID > max && st.ID <= MaxStepID {
			max = st.ID
		}
	})
	next = max + 1
	f.Walk(func(st *Step) {
		if st.ID == 0 {
			st.ID = next
			next++
		}
	})
	return next
}

// Position is where a new step goes: after step After; or, with Parent,
// first in branch Branch of that step; or, with neither, first in the
// flow.
type Position struct {
	After  int64
	Parent int64
	Branch int
}

// seq finds the path holding step id: the slice it is in, and where.
func (f *Flow) seq(id int64) (*[]Step, int) {
	var find func(steps *[]Step) (*[]Step, int)
	find = func(steps *[]Step) (*[]Step, int) {
		for i := range *steps {
			if (*steps)[i].ID == id {
				return steps, i
			}
			for b := range (*steps)[i].Branches {
				if s, j := find(&(*steps)[i].Branches[b]); s != nil {
					return s, j
				}
			}
		}
		return nil, -1
	}
	return find(&f.Steps)
}

// Find returns the step with id.
func (f *Flow) Find(id int64) (*Step, bool) {
	s, i := f.seq(id)
	if s == nil {
		return nil, false
	}
	return &(*s)[i], true
}

// Insert puts st at pos. A branching step takes the steps that followed it
// on its path into its first branch, so nothing is lost and no step
// follows a branch.
func (f *Flow) Insert(pos Position, st Step) error {
	st.Branches = nil
	if st.Branching() {
		st.Branches = make([][]Step, st.branchCount())
	}
	var path *[]Step
	at := 0
	switch {
	case pos.After != 0:
		s, i := f.seq(pos.After)
		if s == nil {
			return fmt.Errorf("there is no step %d", pos.After)
		}
		path, at = s, i+1
	case pos.Parent != 0:
		p, ok := f.Find(pos.Parent)
		if !ok || pos.Branch < 0 || pos.Branch >= len(p.Branches) {
			return fmt.Errorf("step %d has no branch %d", pos.Parent, pos.Branch+1)
		}
		path = &p.Branches[pos.Branch]
	default:
		path = &f.Steps
	}
	rest := append([]Step{}, (*path)[at:]...)
	head := append([]Step{}, (*path)[:at]...)
	if st.Branching() && len(rest) > 0 {
		st.Branches[0], rest = rest, nil
	}
	*path = append(append(head, st), rest...)
	return nil
}

// branchCount is how many branches a branching step of its kind has.
func (st Step) branchCount() int {
	if st.Kind == StepSplit {
		return max(len(st.Percents), 2)
	}
	return 2
}

// Replace puts st's fields in place of step id's, keeping its id and its
// branches; a split that gets more shares gets empty branches for them,
// and one that gets fewer may only lose empty ones.
func (f *Flow) Replace(id int64, st Step) error {
	old, ok := f.Find(id)
	if !ok {
		return fmt.Errorf("there is no step %d", id)
	}
	if old.Kind != st.Kind {
		return fmt.Errorf("step %d is a %s step; remove it and add a %s step instead", id, old.Kind, st.Kind)
	}
	st.ID, st.Branches = id, old.Branches
	if st.Branching() {
		n := st.branchCount()
		for len(st.Branches) < n {
			st.Branches = append(st.Branches, nil)
		}
		for len(st.Branches) > n {
			if len(st.Branches[len(st.Branches)-1]) > 0 {
				return fmt.Errorf("branch %c of step %d has steps: remove them before dropping its share", 'A'+len(st.Branches)-1, id)
			}
			st.Branches = st.Branches[:len(st.Branches)-1]
		}
	}
	*old = st
	return nil
}

// Remove takes step id out of the flow, with the steps in its branches,
// and returns the ids of every step removed.
func (f *Flow) Remove(id int64) ([]int64, error) {
	s, i := f.seq(id)
	if s == nil {
		return nil, fmt.Errorf("there is no step %d", id)
	}
	var gone []int64
	(Flow{Steps: (*s)[i : i+1]}).Walk(func(st *Step) { gone = append(gone, st.ID) })
	*s = append((*s)[:i:i], (*s)[i+1:]...)
	return gone, nil
}
