package templates

import "time"

func contactAction(id int64) string {
	if id == 0 {
		return "/contacts"
	}
	return "/contacts/" + i64(id)
}

func contactLead(p ContactProps) string {
	lead := "Added " + fmtDate(p.CreatedAt)
	if p.Source != "" {
		lead += " from " + p.Source
	}
	if p.Consent != "" {
		lead += ". Consent: " + p.Consent
	}
	return lead + "."
}

func exportLink(query, format string) string {
	if query != "" {
		query += "&"
	}
	return "/contacts/export?" + query + "format=" + format
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ContactsTabs are the pages of the Contacts section.
func contactsTabs() []Option {
	return []Option{
		{"/contacts", "All contacts"},
		{"/contacts/import", "Import"},
		{"/contacts/sources", "Sources"},
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
	// Journeys are the contact's ways through automations, newest first.
	Journeys  []ContactJourney
	Source    string
	Consent   string
	CreatedAt time.Time
	Erased    bool
	// LastOpen and LastClick are the contact's latest open and click.
	LastOpen, LastClick time.Time
	// PreferencesURL is the contact's own signed preferences page.
	PreferencesURL string
	// UnsubscribeURL is the contact's signed link off all mail, which also
	// takes RFC 8058 one-click POSTs.
	UnsubscribeURL string
}

// ContactJourney is one of a contact's journeys, on their page.
type ContactJourney struct {
	AutomationID, JourneyID int64
	Automation, Status      string
	StepID                  int64
	Test                    bool
	EnteredAt               time.Time
}

func journeyURL(j ContactJourney) string {
	return "/automations/" + i64(j.AutomationID) + "/journeys/" + i64(j.JourneyID)
}

func attributeTypes() []Option {
	return []Option{{"text", "Text"}, {"number", "Number"}, {"bool", "Yes / no"}, {"date", "Date"}}
}

// ContactsResultsID is the element the contacts table is swapped into.
const ContactsResultsID = "contacts-results"
