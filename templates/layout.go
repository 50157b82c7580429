// Package templates holds Herald's templ components: the layouts, shared pieces
// and one file per group of pages.
package templates

import (
	"encoding/json"
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
	// Paused names the queues the owner paused, which every page says.
	Paused []string
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

// Option is one choice in a select.
type Option struct {
	Value string
	Label string
}
