// Package templates holds Herald's templ components: the layouts, shared pieces
// and one file per group of pages.
package templates

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Assets are the fingerprinted URLs of the shipped static files.
type Assets struct {
	CSS   string
	HTMX  string
	AppJS string
}

// Flash is a one-off message shown at the top of a page.
type Flash struct {
	// Kind is "success" or "error".
	Kind string
	Text string
}

// Shell is what every page's layout needs.
type Shell struct {
	Title     string
	Section   string
	OrgName   string
	UserEmail string
	CSRF      string
	Assets    Assets
	Flash     Flash
}

// Section is one entry of the main navigation.
type Section struct {
	Key   string
	Label string
	Path  string
	// Blurb says in a sentence what the section is for.
	Blurb string
}

// Sections lists the admin sections in navigation order.
func Sections() []Section {
	return []Section{
		{"dashboard", "Dashboard", "/", "An overview of your sending and audience."},
		{"contacts", "Contacts", "/contacts", "Everyone you can email: search, filter, import and export contacts, with their consent and history."},
		{"lists", "Lists", "/lists", "Lists people subscribe to, with single or double opt-in and public sign-up forms."},
		{"segments", "Segments", "/segments", "Live audiences built from rules on contact fields, lists and tags."},
		{"templates", "Templates", "/templates", "Layouts, campaign designs and transactional templates, with live previews."},
		{"campaigns", "Campaigns", "/campaigns", "Newsletters and announcements: write, schedule, send and follow their progress."},
		{"automations", "Automations", "/automations", "Sequences that send on their own when something happens, like a welcome series."},
		{"reports", "Reports", "/reports", "Deliveries, opens, clicks, bounces and unsubscribes over time."},
		{"settings", "Settings", "/settings", "Your organisation, sending relays and API keys."},
	}
}

// FieldErrors maps a form field name to what is wrong with it.
type FieldErrors map[string]string

// csrfHeaders is the hx-headers value that sends the CSRF token with every htmx request.
func csrfHeaders(token string) string {
	b, _ := json.Marshal(map[string]string{"X-CSRF-Token": token})
	return string(b)
}

// htmxConfig swaps validation (422) and throttling (429) answers into the page
// like successes, keeps other errors from replacing content, and turns off
// everything that would need inline script or style under the CSP.
const htmxConfig = `{"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"422","swap":true},{"code":"429","swap":true},{"code":"[45]..","swap":true,"error":true}],"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}`

// fmtTime formats t for people, or "never" for the zero time.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2 Jan 2006 15:04 UTC")
}

func statusText(code int) string {
	return strconv.Itoa(code) + " " + http.StatusText(code)
}

// GeneralForm is the state of the Settings → General form.
type GeneralForm struct {
	OrgName       string
	PostalAddress string
	BaseURL       string
	FromName      string
	FromEmail     string
	Timezone      string
	FirstRetry    string
	// The sending safety settings, as typed.
	BouncePause    string
	ComplaintPause string
	// DomainLimits is one "domain per-hour" pair a line.
	DomainLimits string
}

// APIKeyRow is one key in the list of API keys.
type APIKeyRow struct {
	ID         int64
	Name       string
	Prefix     string
	Access     string
	CreatedAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time
}

// fmtDate formats the date of t for people.
func fmtDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 Jan 2006")
}
