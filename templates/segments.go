package templates

import (
	"strings"

	"github.com/a-h/templ"
)

// RuleNode is one row of the segment editor: a condition, or a group of rows.
type RuleNode struct {
	// Path names the row in the form, like "1.0"; the root group has "".
	Path    string
	Group   bool
	Match   string
	Field   string
	AttrKey string
	Op      string
	// Ops are the comparisons the field allows.
	Ops    []string
	Value  string
	Values []string
	Status string
	// Campaign is the id of the campaign an opened or clicked condition is
	// about; empty means any email.
	Campaign string
	// Event, WhereKey and WhereValue, and Days are an event condition's:
	// the event's name, a property it must have, and the last days it
	// counts (empty: ever).
	Event, WhereKey, WhereValue, Days string
	// WhereRest keeps an event row's other properties, as JSON, for a rule
	// made through the API with more than one.
	WhereRest string
	Error     string
	Children  []RuleNode
}

// SegmentProps fill the segment editor; ID 0 adds a segment.
type SegmentProps struct {
	Shell       Shell
	ID          int64
	Name        string
	Description string
	Root        RuleNode
	Errors      FieldErrors
	Count       SegmentCount
	// JSON is the rules as the API takes them.
	JSON     string
	Lists    []Option
	Statuses []string
	Tags     []string
	// Campaigns are those that began sending, for opened and clicked rows.
	Campaigns []Option
}

// SegmentCount is the live count under the editor.
type SegmentCount struct {
	N     int
	Error string
}

// SegmentRow is one segment in the segments table.
type SegmentRow struct {
	ID          int64
	Name        string
	Description string
}

// SegmentsProps fill the segments page.
type SegmentsProps struct {
	Shell    Shell
	Segments []SegmentRow
}

// IDs of the parts of the segment editor that htmx swaps.
const (
	RuleEditorID   = "rule-editor"
	SegmentCountID = "segment-count"
)

// ruleFieldOptions are the fields offered in the editor.
func ruleFieldOptions() []Option {
	return []Option{
		{"email", "Email"}, {"first_name", "First name"}, {"last_name", "Last name"}, {"status", "Status"},
		{"created_at", "Added"}, {"list", "List"}, {"tag", "Tag"}, {"attribute", "Attribute…"},
		{"opened", "Opened"}, {"clicked", "Clicked"}, {"clicked_link", "Clicked a link"}, {"soft_bounced", "Bounced softly"},
		{"event", "Did an event"},
	}
}

var opLabels = map[string]string{
	"eq": "is", "neq": "is not", "contains": "contains", "starts_with": "starts with", "gt": "is more than",
	"lt": "is less than", "before": "is before", "after": "is after", "within_days": "is within the last (days)",
	"is_set": "is set", "not_set": "is not set", "in": "is one of", "not_in": "is none of",
}

// engagementOpLabels name the ops of engagement fields, which read
// differently from the same ops on a contact's details.
var engagementOpLabels = map[string]string{
	"opened.within_days": "in the last (days)", "opened.never": "never / did not open",
	"clicked.within_days": "in the last (days)", "clicked.never": "never / did not click",
	"clicked_link.contains": "whose address contains",
	"soft_bounced.in_a_row": "in a row, at least (times)", "soft_bounced.within_days": "in the last (days)",
	"event.at_least": "at least (times)", "event.not_since": "not in the last (days, or since a date)",
}

func opLabel(field, op string) string {
	if l, ok := engagementOpLabels[field+"."+op]; ok {
		return l
	}
	if l, ok := opLabels[op]; ok {
		return l
	}
	return op
}

func fieldName(p string, n RuleNode) string { return p + "." + n.Path }

// ValueKind says which input a condition's value needs: none, list, lists,
// status, statuses, date, number or text.
func ValueKind(n RuleNode) string {
	switch {
	case n.Op == "is_set" || n.Op == "not_set" || n.Op == "never":
		return "none"
	case n.Op == "in_a_row" || n.Op == "at_least":
		return "number"
	case n.Field == "list":
		if n.Op == "in" || n.Op == "not_in" {
			return "lists"
		}
		return "list"
	case n.Field == "status":
		if n.Op == "in" || n.Op == "not_in" {
			return "statuses"
		}
		return "status"
	case n.Op == "before" || n.Op == "after":
		return "date"
	case n.Op == "within_days" || n.Op == "gt" || n.Op == "lt":
		return "number"
	}
	return "text"
}

// TakesCampaign says whether a row picks any email or one campaign.
func TakesCampaign(n RuleNode) bool { return n.Field == "opened" || n.Field == "clicked" }

// scanNote warns of a condition no index serves: it reads every contact,
// which takes a while over hundreds of thousands. Equality with true or
// false is one.
func scanNote(n RuleNode) string {
	isBool := n.Value == "true" || n.Value == "false"
	if n.Op != "contains" && (n.Field != "attribute" || (n.Op == "eq" && !isBool) || n.Op == "in" || ValueKind(n) == "number" || ValueKind(n) == "date") {
		return ""
	}
	return "Slower with many contacts: this comparison reads every contact (a few tenths of a second for a million). " +
		"Equals, is one of, numbers and dates on an attribute are looked up in an index, which Herald makes within a minute of saving the segment."
}

// engagementSentence says in plain words what an engagement row matches,
// like "opened any email in the last 30 days"; "" for other rows.
func engagementSentence(n RuleNode, campaigns []Option) string {
	what := "any email"
	if n.Campaign != "" {
		what = "campaign " + n.Campaign
		for _, o := range campaigns {
			if o.Value == n.Campaign {
				what = "“" + o.Label + "”"
			}
		}
	}
	count := n.Value
	if count == "" {
		count = "N"
	}
	days := count + " days"
	switch n.Field + "." + n.Op {
	case "opened.within_days", "clicked.within_days":
		return "Contacts who " + n.Field + " " + what + " in the last " + days
	case "opened.never", "clicked.never":
		verb := map[string]string{"opened": "open", "clicked": "click"}[n.Field]
		if n.Campaign == "" {
			return "Contacts who never " + n.Field + " any email"
		}
		return "Contacts who were sent " + what + " but did not " + verb + " it"
	case "clicked_link.contains":
		return "Contacts who clicked a link containing “" + n.Value + "”"
	case "soft_bounced.in_a_row":
		return "Contacts whose last " + count + " or more messages bounced softly"
	case "soft_bounced.within_days":
		return "Contacts with a soft bounce in the last " + days
	case "event.at_least", "event.not_since":
		return eventSentence(n, count)
	}
	return ""
}

// campaignOptions are the campaigns a row may pick, keeping the one it
// names even when it is not among them.
func campaignOptions(n RuleNode, campaigns []Option) []Option {
	if n.Campaign == "" {
		return campaigns
	}
	for _, o := range campaigns {
		if o.Value == n.Campaign {
			return campaigns
		}
	}
	return append([]Option{{n.Campaign, "campaign " + n.Campaign}}, campaigns...)
}

func valueHint(n RuleNode) string {
	if n.Op == "in" || n.Op == "not_in" {
		return "Separate values with commas"
	}
	return ""
}

func depthClass(path string) string {
	return "rule-group depth-" + itoa(strings.Count(path, ".")+1)
}

func segmentAction(id int64) string {
	if id == 0 {
		return "/segments"
	}
	return "/segments/" + i64(id)
}

func tagList(n RuleNode) string {
	if n.Field == "tag" {
		return "rule-tags"
	}
	return ""
}

func oobAttrs(oob bool) templ.Attributes {
	if oob {
		return templ.Attributes{"hx-swap-oob": "true"}
	}
	return templ.Attributes{}
}

// eventSentence says what an event row matches, like "Contacts who did
// order_placed (plan = pro) at least 2 times in the last 30 days".
func eventSentence(n RuleNode, count string) string {
	what := n.Event
	if what == "" {
		what = "the event"
	}
	if n.WhereKey != "" {
		what += " (" + n.WhereKey + " = " + n.WhereValue + ")"
	}
	if n.Op == "not_since" {
		if strings.Contains(count, "-") {
			return "Contacts who have not done " + what + " since " + count + ", or never"
		}
		return "Contacts who have not done " + what + " in the last " + count + " days, or never"
	}
	s := "Contacts who did " + what + " at least " + count + " times"
	if n.Days != "" && n.Days != "0" {
		s += " in the last " + n.Days + " days"
	}
	return s
}
