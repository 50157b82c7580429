package templates

import (
	"net/url"
	"strconv"
	"time"
)

// Option is one choice in a select.
type Option struct {
	Value string
	Label string
}

// ContactsTabs are the pages of the Contacts section.
func contactsTabs() []Option {
	return []Option{
		{"/contacts", "All contacts"},
		{"/contacts/import", "Import"},
		{"/contacts/suppressions", "Suppressions"},
	}
}

// ContactRow is one contact in the contacts table.
type ContactRow struct {
	ID        int64
	Email     string
	Name      string
	Status    string
	Tags      []string
	Lists     []string
	CreatedAt time.Time
}

// ContactFilterForm is the state of the contacts filter bar.
type ContactFilterForm struct {
	Q         string
	ListID    string
	Tag       string
	Status    string
	SegmentID string
}

// ContactsResultsID is the element the contacts table is swapped into.
const ContactsResultsID = "contacts-results"

// ContactsProps fill the contacts page.
type ContactsProps struct {
	Shell    Shell
	Filter   ContactFilterForm
	Rows     []ContactRow
	Total    int
	Page     int
	Pages    int
	PerPage  int
	Lists    []Option
	Tags     []string
	Segments []Option
	Statuses []string
	// Query is the filter as a URL query, for pagination and export links.
	Query string
	// Error explains a filter that could not run.
	Error string
}

// AttributeRow is one custom attribute in the contact editor.
type AttributeRow struct {
	Key   string
	Value string
	// Type is text, number, bool or date.
	Type string
}

// MembershipRow is a contact's place on one list.
type MembershipRow struct {
	ListID    int64
	ListName  string
	Status    string
	UpdatedAt time.Time
}

// EventRow is one entry of a contact's timeline.
type EventRow struct {
	Kind   string
	Detail string
	At     time.Time
}

// SendRow is one campaign message to a contact.
type SendRow struct {
	CampaignID   int64
	CampaignName string
	Status       string
	Attempts     int
	LastResponse string
	At           time.Time
}

// ContactForm is the state of the contact editor.
type ContactForm struct {
	Email      string
	FirstName  string
	LastName   string
	Status     string
	Tags       string
	Attributes []AttributeRow
	// Lists are the lists ticked on a new contact.
	Lists []string
}

// ContactProps fill the contact page, or the new contact page when ID is 0.
type ContactProps struct {
	Shell       Shell
	ID          int64
	Form        ContactForm
	Errors      FieldErrors
	Memberships []MembershipRow
	Lists       []Option
	Statuses    []string
	Events      []EventRow
	Sends       []SendRow
	Source      string
	Consent     string
	CreatedAt   time.Time
	Erased      bool
	// PreferencesURL is the contact's own signed preferences page.
	PreferencesURL string
	// UnsubscribeURL is the contact's signed link off all mail, which also
	// takes RFC 8058 one-click POSTs.
	UnsubscribeURL string
}

func statusBadge(status string) string {
	switch status {
	case "active", "confirmed", "sent":
		return "badge badge-ok"
	case "unconfirmed", "retrying", "queued", "sending":
		return "badge badge-warn"
	case "bounced", "complained", "blocked", "failed":
		return "badge badge-error"
	}
	return "badge badge-muted"
}

func itoa(n int) string { return strconv.Itoa(n) }

func i64(n int64) string { return strconv.FormatInt(n, 10) }

func pageLink(base, query string, page int) string {
	if query != "" {
		query += "&"
	}
	return base + "?" + query + "page=" + strconv.Itoa(page)
}

func attributeTypes() []Option {
	return []Option{{"text", "Text"}, {"number", "Number"}, {"bool", "Yes / no"}, {"date", "Date"}}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ListRow is one list in the lists table.
type ListRow struct {
	ID           int64
	Name         string
	Description  string
	OptIn        string
	Visibility   string
	Confirmed    int
	Unconfirmed  int
	Unsubscribed int
}

// ListsProps fill the lists page.
type ListsProps struct {
	Shell Shell
	Lists []ListRow
}

// FormFieldRow is one custom field of a list's public form in the editor.
type FormFieldRow struct {
	Key      string
	Label    string
	Required bool
}

// ListForm is the state of the list editor.
type ListForm struct {
	Name        string
	Description string
	OptIn       string
	Visibility  string
	Challenge   bool
	Fields      []FormFieldRow
}

// ListProps fill the list editor; ID 0 adds a list.
type ListProps struct {
	Shell  Shell
	ID     int64
	Form   ListForm
	Errors FieldErrors
	Counts ListRow
	// FormURL is the public subscription page, for public lists.
	FormURL string
	// EmbedHTML is a form to paste into another website.
	EmbedHTML string
	// NoRelay warns that confirmation emails cannot go out yet.
	NoRelay bool
	// NoBaseURL warns that the form is closed until the public base URL
	// is set.
	NoBaseURL bool
}

// SuppressionRow is one entry of the do-not-send list.
type SuppressionRow struct {
	ID        int64
	Kind      string
	Value     string
	Reason    string
	Source    string
	CreatedAt time.Time
}

// SuppressionsProps fill the suppressions page.
type SuppressionsProps struct {
	Shell  Shell
	Rows   []SuppressionRow
	Total  int
	Page   int
	Pages  int
	Q      string
	Value  string
	Reason string
	Errors FieldErrors
}

// queryOf encodes one query parameter, or "" when the value is empty.
func queryOf(key, value string) string {
	if value == "" {
		return ""
	}
	return url.Values{key: {value}}.Encode()
}
