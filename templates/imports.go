package templates

import (
	"fmt"
	"time"
)

// ImportJobRow is an import job as pages show it.
type ImportJobRow struct {
	ID        int64
	FileName  string
	Status    string
	Mode      string
	Progress  float64
	Total     int
	Created   int
	Updated   int
	Skipped   int
	Invalid   int
	Error     string
	CreatedAt time.Time
	Line      int
	// Origin is "source" for a source's run, which its source stops.
	Origin string
}

// ImportsProps fill the import page: the upload form and recent jobs.
type ImportsProps struct {
	Shell Shell
	Jobs  []ImportJobRow
	Error string
	Total int
	Page  int
	Pages int
}

// ImportColumn is one column of an uploaded file in the mapping step.
type ImportColumn struct {
	Index   int
	Header  string
	Samples []string
	Target  string
	AttrKey string
}

// ImportMapProps fill the mapping step of an import.
type ImportMapProps struct {
	Shell   Shell
	Job     ImportJobRow
	Columns []ImportColumn
	Lists   []Option
	ListIDs []string
	Tags    string
	Mode    string
	Errors  FieldErrors
}

// ImportJobProps fill the page that follows a running or finished import.
type ImportJobProps struct {
	Shell  Shell
	Job    ImportJobRow
	Errors []ImportErrorRow
}

// ImportErrorRow is one line that was not imported.
type ImportErrorRow struct {
	Line   int
	Reason string
}

// ImportProgressID is the element that polls for an import's progress.
const ImportProgressID = "import-progress"

func importTargets() []Option {
	return []Option{
		{"email", "Email address"}, {"first_name", "First name"}, {"last_name", "Last name"},
		{"full_name", "Full name (split into first and last)"}, {"tags", "Tags (separated by , or ;)"},
		{"attributes_json", "Attributes as JSON"}, {"attribute", "Attribute named…"}, {"ignore", "Don't import"},
	}
}

// ImportModes are what an import (or a source) does with its contacts.
func ImportModes() []Option {
	return []Option{
		{"create", "Add new contacts only; leave existing ones as they are"},
		{"upsert", "Add new contacts and update existing ones"},
		{"unsubscribe", "Unsubscribe these addresses (from the chosen lists, or from all mail)"},
		{"block", "Block these addresses and add them to the do-not-send list"},
	}
}

// unitOf is what an import reads: lines of a file, or a source's records.
func unitOf(j ImportJobRow) string {
	if j.Origin == "source" {
		return "Record"
	}
	return "Line"
}

func percent(f float64) string { return fmt.Sprintf("%.0f%%", f*100) }

func progressValue(f float64) string { return fmt.Sprintf("%.3f", f) }

func jobActive(status string) bool {
	return status == "queued" || status == "running" || status == "paused"
}

func importBadge(status string) string {
	switch status {
	case "done":
		return "active"
	case "failed":
		return "bounced"
	case "running", "queued", "paused":
		return "unconfirmed"
	}
	return ""
}
