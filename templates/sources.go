package templates

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// SourcesProps fill Contacts → Sources.
type SourcesProps struct {
	Shell   Shell
	Sources []SourceRow
}

// SourceRow is a source as its list and its page show it.
type SourceRow struct {
	ID                   int64
	Name, Host, Schedule string
	Health, LastError    string
	Enabled              bool
	DisabledReason       string
	LastRunAt, NextRunAt time.Time
	LastStatus           string
	// LastWarning is what the last run noticed without failing.
	LastWarning string
	// NextIn is the time until the next run, in words ("in 2 h 5 min").
	NextIn string
	// Running is the run under way, if one is.
	Running *SourceRunRow
	// Newest is the newest run's id, which the status card sends back when
	// it polls, so the page reloads when a run starts or ends.
	Newest int64
}

func sourceStatusURL(s SourceRow) string {
	u := "/contacts/sources/" + i64(s.ID) + "/status?newest=" + i64(s.Newest)
	if s.Running != nil {
		u += "&running=1"
	}
	return u
}

// SourceFormProps fill the page that sets up a source or changes one: its
// connection, then, once tested, how its records become contacts and when
// it runs.
type SourceFormProps struct {
	Shell  Shell
	Form   SourceForm
	Errors FieldErrors
	Lists  []Option
	// Test is what testing the connection found; nil before.
	Test *SourceTest
}

// SourceForm is the setup form as typed. A kept secret is never written
// back into the page: SecretSet and HeaderNames say what is kept.
type SourceForm struct {
	ID                                           int64
	Name, URL, AuthKind, AuthName, Headers       string
	RecordsPath, Paging, PageParam, SizeParam    string
	PageSize, MaxPages, CursorField, CursorParam string
	SinceParam, Mode, Tags, Schedule, At         string
	ListIDs                                      []string
	LeaveLists, SecretSet                        bool
	HeaderNames                                  []string
	Fields                                       []ImportColumn
}

// action is where the form is saved, and test where it is tested.
func (f SourceForm) action() string {
	if f.ID == 0 {
		return "/contacts/sources"
	}
	return "/contacts/sources/" + i64(f.ID)
}

func (f SourceForm) test() string {
	if f.ID == 0 {
		return "/contacts/sources/test"
	}
	return "/contacts/sources/" + i64(f.ID) + "/test"
}

// SourceTest is what the first page of a source held, and the fields to
// map; Fields stand in the form whether or not a test ran.
type SourceTest struct {
	Ran     bool
	OK      bool
	Error   string
	TookMS  int64
	Status  int
	Count   int
	More    bool
	Columns []string
	Rows    [][]string
	Fields  []ImportColumn
	Errors  FieldErrors
}

// summary says what a successful test found.
func (t SourceTest) summary() string {
	s := fmt.Sprintf("Connected: HTTP %d in %d ms, %d records on the first page", t.Status, t.TookMS, t.Count)
	if t.More {
		s += ", and more pages after it"
	}
	return s + "."
}

// SourceDetailProps fill a source's page.
type SourceDetailProps struct {
	Shell  Shell
	Source SourceRow
	Facts  []Option
	Runs   []SourceRunRow
	Audit  []SourceAuditRow
	// Auth says how the source signs in; Secret is nil until revealed.
	Auth        string
	SecretSet   bool
	HeaderNames []string
}

// SourceRunRow is one run of a source.
type SourceRunRow struct {
	ID                                                       int64
	Status, Error, Warning                                   string
	Pages, Fetched, Created, Updated, Skipped, Invalid, Left int
	Capped                                                   bool
	ImportID                                                 int64
	StartedAt                                                time.Time
	// Took is how long it ran, in words; "" while it runs.
	Took string
}

// SourceAuditRow is one line of a source's audit trail.
type SourceAuditRow struct {
	At                    time.Time
	Actor, Action, Detail string
}

// SourceSecretView is a source's credentials as its page shows them:
// masked, or revealed with their values.
type SourceSecretView struct {
	ID          int64
	Revealed    bool
	SecretSet   bool
	Secret      string
	HeaderNames []string
	Headers     []Option
}

// SourceStatusID is the card that follows a source's state on its page.
const SourceStatusID = "source-status"

func sourceAuthKinds() []Option {
	return []Option{{"", "None"}, {"bearer", "Bearer token (Authorization: Bearer …)"}, {"basic", "Basic auth (username and password)"},
		{"header", "API key in a header"}, {"query", "API key in a query parameter"}}
}

// SourcePagings are the ways a source's API pages its records.
func SourcePagings() []Option {
	return []Option{{"none", "None: one answer holds everything"}, {"page", "Page numbers (page and per_page)"}, {"offset", "Offsets (offset and limit)"},
		{"cursor", "A cursor in the answer"}, {"link", "A Link: rel=\"next\" header"}}
}

func sourceSchedules() []Option {
	return []Option{{"hourly", "Every hour"}, {"daily", "Every day"}, {"weekly", "Every Monday"}, {"monthly", "On the 1st of each month"}}
}

func healthBadge(h string) string {
	switch h {
	case "healthy":
		return "badge badge-ok"
	case "warning":
		return "badge badge-warn"
	case "error":
		return "badge badge-error"
	}
	return "badge badge-muted"
}

func auditText(a SourceAuditRow) string {
	if a.Detail == "" {
		return a.Action
	}
	return a.Action + ": " + a.Detail
}

func healthLabel(h string) string {
	switch h {
	case "healthy":
		return "Healthy"
	case "warning":
		return "Warning"
	case "error":
		return "Error"
	}
	return "Not run yet"
}

func runBadge(status string) string {
	switch status {
	case "done":
		return "badge badge-ok"
	case "failed":
		return "badge badge-error"
	}
	return "badge badge-warn"
}

func sourceSecretHint(f SourceForm) string {
	if f.SecretSet {
		return "Kept, and never shown here: leave empty to keep it, or type a new one."
	}
	return "Sealed when saved, like relay passwords, and masked everywhere after."
}

func secretPlaceholder(f SourceForm) string {
	if f.SecretSet {
		return "•••••••• (kept)"
	}
	return ""
}

func headersHint(f SourceForm) string {
	if len(f.HeaderNames) > 0 {
		return "Kept: " + strings.Join(f.HeaderNames, ", ") + ". Leave empty to keep them, or give them all again, one \"Name: value\" a line."
	}
	return "One \"Name: value\" a line, sealed like the secret."
}

// any says whether any field whose name starts with one of prefixes has
// an error.
func (e FieldErrors) any(prefixes ...string) bool {
	for k := range e {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) {
				return true
			}
		}
	}
	return false
}

// sourceFieldLabels name a source's fields in its errors.
var sourceFieldLabels = map[string]string{
	"name": "Name", "url": "Address", "auth_kind": "Authentication", "auth_name": "Username, header or parameter", "secret": "Token, password or key",
	"headers": "Extra headers", "records_path": "Where the records are", "since_param": "Changed since parameter", "schedule": "Runs", "at_minute": "At",
	"mapping.fields": "Fields", "mapping.mode": "Mode", "mapping.list_ids": "Lists", "mapping.tags": "Tags", "mapping.leave_lists": "Leaving lists",
	"paging.kind": "Paging", "paging.size": "Records a page", "paging.max_pages": "At most pages a run", "paging.cursor_field": "Cursor in the answer",
	"paging.page_param": "Page or offset parameter", "paging.size_param": "Page size parameter", "paging.cursor_param": "Cursor parameter",
}

// sourceErrorList is a source's errors as lines, each led by its field.
func sourceErrorList(errs FieldErrors) []string {
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		label := sourceFieldLabels[k]
		switch {
		case label != "":
		case strings.HasPrefix(k, "headers["):
			label = "Extra headers"
		case strings.HasPrefix(k, "mapping.fields["):
			label = "Fields"
		default:
			label = k
		}
		out[i] = label + ": " + errs[k]
	}
	return out
}
