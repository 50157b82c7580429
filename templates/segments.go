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
	Ops      []string
	Value    string
	Values   []string
	Status   string
	Error    string
	Children []RuleNode
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
	}
}

var opLabels = map[string]string{
	"eq": "is", "neq": "is not", "contains": "contains", "starts_with": "starts with", "gt": "is more than",
	"lt": "is less than", "before": "is before", "after": "is after", "within_days": "is within the last (days)",
	"is_set": "is set", "not_set": "is not set", "in": "is one of", "not_in": "is none of",
}

func opLabel(op string) string {
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
	case n.Op == "is_set" || n.Op == "not_set":
		return "none"
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
