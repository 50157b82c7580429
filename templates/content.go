package templates

import "time"

// TemplateRow is one template in the templates table.
type TemplateRow struct {
	ID        int64
	Name      string
	Kind      string
	Format    string
	Version   int
	UpdatedAt time.Time
}

// TemplatesProps fill the templates page.
type TemplatesProps struct {
	Shell     Shell
	Templates []TemplateRow
	Name      string
	Kind      string
	Format    string
	Errors    FieldErrors
}

// TemplateForm is the state of the template editor.
type TemplateForm struct {
	Name      string
	Kind      string
	Format    string
	Subject   string
	Body      string
	TextBody  string
	LayoutID  string
	Essential bool
}

// MediaItem is an uploaded image.
type MediaItem struct {
	ID       int64
	URL      string
	FileName string
	Width    int
	Height   int
	Size     int64
}

// TemplateEditProps fill the template editor.
type TemplateEditProps struct {
	Shell    Shell
	ID       int64
	Version  int
	Form     TemplateForm
	Errors   FieldErrors
	Layouts  []Option
	Contacts []Option
	Relays   []Option
	Media    []MediaItem
	Preview  PreviewProps
	TestTo   string
}

// PreviewProps fill the live preview beside the editor.
type PreviewProps struct {
	Subject string
	// URL shows the rendered HTML in a sandboxed frame.
	URL    string
	Text   string
	Errors []string
}

// IDs of the parts of the editor that htmx swaps.
const (
	PreviewID  = "template-preview"
	TestSendID = "template-test-result"
)

// VersionRow is one saved version of a template.
type VersionRow struct {
	Version int
	Name    string
	Author  string
	SavedAt time.Time
	Current bool
}

// VersionsProps fill a template's version history.
type VersionsProps struct {
	Shell    Shell
	ID       int64
	Name     string
	Versions []VersionRow
}

// DiffLine is one line of a comparison: " " same, "-" only in the old
// version, "+" only in the new one.
type DiffLine struct {
	Op   string
	Text string
}

// VersionProps fill the page of one version, compared with another.
type VersionProps struct {
	Shell   Shell
	ID      int64
	Name    string
	Version int
	Against int
	Subject string
	Format  string
	Body    string
	Diff    []DiffLine
	Changed bool
}

// MediaProps fill the media page.
type MediaProps struct {
	Shell Shell
	Items []MediaItem
	Error string
	Total int
	Page  int
	Pages int
}

// TestResultView is the answer of a test send, one line per address.
type TestResultView struct {
	Lines []TestLine
	Error string
}

// TestLine is how a test send to one address went.
type TestLine struct {
	To    string
	OK    bool
	Reply string
}

func templatesTabs() []Option {
	return []Option{{"/templates", "Templates"}, {"/templates/media", "Media"}}
}

func templateKinds() []Option {
	return []Option{{"campaign", "Campaign design"}, {"transactional", "Transactional email"}, {"layout", "Layout"}}
}

func templateFormats() []Option {
	return []Option{{"markdown", "Markdown"}, {"html", "Rich HTML"}, {"text", "Plain text"}}
}

func kindLabel(kind string) string {
	for _, o := range templateKinds() {
		if o.Value == kind {
			return o.Label
		}
	}
	return kind
}

func sizeLabel(n int64) string {
	if n >= 1<<20 {
		return itoa(int(n>>20)) + " MB"
	}
	return itoa(int(max(n>>10, 1))) + " KB"
}

func insertSnippet(format string, m MediaItem) string {
	if format == "markdown" {
		return "![" + m.FileName + "](" + m.URL + ")"
	}
	return `<img src="` + m.URL + `" alt="" width="` + itoa(min(m.Width, 600)) + `" style="max-width:100%;height:auto;">`
}

func bodyLabel(f TemplateForm) string {
	if f.Kind == "layout" {
		return "Layout HTML"
	}
	return "Body"
}

func bodyHint(f TemplateForm) string {
	if f.Kind == "layout" {
		return `Place the email's content with {{template "content" .}}, and keep the footer's postal address and unsubscribe link.`
	}
	return ""
}

func diffClass(op string) string {
	switch op {
	case "+":
		return "diff-add"
	case "-":
		return "diff-del"
	}
	return "diff-same"
}
