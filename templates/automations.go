package templates

import (
	"fmt"
	"slices"
	"time"
)

// AutomationsProps fill the Automations section's list.
type AutomationsProps struct {
	Shell Shell
	Rows  []AutomationRow
}

// AutomationRow is an automation as its list and its page show it.
type AutomationRow struct {
	ID                                    int64
	Name, Status, Trigger, Entry, Goal    string
	Entered, Completed, Exited, Converted int
	// InFlow is how many contacts are in it now.
	InFlow    int
	UpdatedAt time.Time
}

// AutomationProps fill an automation's page: its flow, drawn top to
// bottom, and the side panel that adds, changes or removes a step.
type AutomationProps struct {
	Shell Shell
	A     AutomationRow
	Steps []StepView
	// Editable is false for an archived automation.
	Editable bool
	Panel    *StepPanel
	// Problems are what a check found; Checked says one ran.
	Problems []string
	Checked  bool
	// TestEmail is the address last typed to test with, and TestError why
	// the test could not start.
	TestEmail, TestError string
}

// StepView is one step as the flow draws it.
type StepView struct {
	ID              int64
	Kind, Title     string
	Summary         string
	Waiting, Passed int
	// Email steps show their results and link to their report.
	Email               bool
	Sent                int
	OpenRate, ClickRate string
	Report              string
	Selected            bool
	// Problem is what a check found wrong with the step.
	Problem  string
	Branches []BranchView
	// Last says nothing may follow the step: it branches or exits.
	Last bool
}

// BranchView is one branch of a branching step.
type BranchView struct {
	Label  string
	Parent int64
	Index  int
	Steps  []StepView
}

// Step panel modes.
const (
	PanelChoose = "choose"
	PanelNew    = "new"
	PanelEdit   = "edit"
	PanelRemove = "remove"
)

// StepPanel is the side panel: choosing a kind of step, its form, or where
// contacts go when their step is removed.
type StepPanel struct {
	Mode         string
	AutomationID int64
	// Where a new step goes.
	After, Parent int64
	Branch        int
	Form          StepForm
	Errors        FieldErrors
	Kinds         []Option
	Templates     []Option
	Lists         []Option
	Webhooks      []Option
	Segments      []Option
	Fields        []Option
	// Removing a step that holds contacts: how many, and where they may go.
	Holding     int
	MoveTargets []Option
}

// StepForm is a step's form as typed.
type StepForm struct {
	ID                                int64
	Kind                              string
	Amount, Unit                      string
	Weekdays                          []string
	At, Event                         string
	TemplateID, Subject               string
	FromName, FromEmail               string
	NoOpens, NoClicks                 bool
	Tag, ListID, Attribute, Value     string
	RuleSegment, Field, Op, RuleValue string
	Percents, WebhookID, Text         string
	// Rule is the condition's rules as JSON, when it has more than the
	// form's one condition: kept as it is unless the form replaces it.
	Rule string
}

// StepKindLabels name each kind of step for people.
var StepKindLabels = map[string]string{
	"email": "Send an email", "wait": "Wait", "wait_event": "Wait for an event", "condition": "If / else",
	"split": "Random split", "add_tag": "Add a tag", "remove_tag": "Remove a tag", "add_list": "Add to a list",
	"remove_list": "Remove from a list", "set_attribute": "Update an attribute", "webhook": "Call a webhook",
	"notify": "Notify the owners", "exit": "Exit",
}

// stepPanelURL is where the panel for a new step at a place is asked for.
func newStepURL(id, after, parent int64, branch int) string {
	u := "/automations/" + i64(id) + "?new=1"
	switch {
	case after != 0:
		u += "&after=" + i64(after)
	case parent != 0:
		u += fmt.Sprintf("&parent=%d&branch=%d", parent, branch)
	}
	return u
}

func (p StepPanel) newKindURL(kind string) string {
	return newStepURL(p.AutomationID, p.After, p.Parent, p.Branch) + "&kind=" + kind
}

func stepURL(id, step int64) string { return "/automations/" + i64(id) + "?step=" + i64(step) }

func automationBadge(status string) string {
	switch status {
	case "active":
		return "badge badge-ok"
	case "paused":
		return "badge badge-warn"
	}
	return "badge badge-muted"
}

// WeekdayNames are the days' short names, Sunday first.
var WeekdayNames = []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

func checkedDay(f StepForm, d int) bool { return slices.Contains(f.Weekdays, fmt.Sprint(d)) }

// JourneysProps fill the list of an automation's contacts.
type JourneysProps struct {
	Shell  Shell
	A      AutomationRow
	Rows   []JourneyRow
	Status string
	Step   string
	Steps  []Option
	Test   bool
	Page   int
	Pages  int
	Total  int
	Query  string
}

// JourneyRow is one contact's journey.
type JourneyRow struct {
	ID                      int64
	ContactID               int64
	Email, Status, Step     string
	Source, EndReason       string
	Entry                   int
	Test                    bool
	EnteredAt, DueAt, Ended time.Time
}

// JourneyProps fill one journey's page: each step, when and what happened.
type JourneyProps struct {
	Shell   Shell
	A       AutomationRow
	J       JourneyRow
	History []HistoryRow
	// Live makes the page follow a journey under way.
	Live bool
}

// HistoryRow is one thing that happened in a journey.
type HistoryRow struct {
	Step, Outcome, Detail string
	At                    time.Time
}

// AutomationFormProps fill the form for an automation's name, trigger and
// entry rules.
type AutomationFormProps struct {
	Shell     Shell
	Form      AutomationForm
	Errors    FieldErrors
	Lists     []Option
	Campaigns []Option
	Segments  []Option
}

// AutomationForm is the settings form as typed.
type AutomationForm struct {
	ID                               int64
	Name, TriggerKind, ListID, Tag   string
	Event, EveryDays, GoalEvent      string
	CampaignID, URL, SegmentID       string
	Attribute, OffsetDays, At        string
	Yearly, Again, ExitOnUnsubscribe bool
}

func (f AutomationForm) action() string {
	if f.ID == 0 {
		return "/automations"
	}
	return "/automations/" + i64(f.ID) + "/settings"
}

// TriggerOptions are the triggers the form offers.
var TriggerOptions = []Option{
	{Value: "list", Label: "Joins a list (confirmed)"},
	{Value: "tag", Label: "Is given a tag"},
	{Value: "event", Label: "A custom event arrives"},
	{Value: "date", Label: "A date in their attributes comes round (birthday, renewal…)"},
	{Value: "open", Label: "Opens a campaign"},
	{Value: "click", Label: "Clicks a link in a campaign"},
	{Value: "segment", Label: "Comes into a segment"},
	{Value: "manual", Label: "Added by hand or through the API"},
}
