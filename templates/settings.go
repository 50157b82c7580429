package templates

// settingsTabs are the pages of the Settings section.
var settingsTabs = []struct{ Key, Label, Path string }{
	{"general", "General", "/settings"},
	{"relays", "Sending relays", "/settings/relays"},
	{"domains", "Sending domains", "/settings/domains"},
	{"emails", "Subscription emails", "/settings/emails"},
	{"api-keys", "API keys", "/settings/api-keys"},
	{"jobs", "Jobs", "/settings/jobs"},
}

// GeneralProps fill Settings → General.
type GeneralProps struct {
	Shell     Shell
	General   GeneralForm
	Timezones []string
	Errors    FieldErrors
}

// EmailsProps fill Settings → Subscription emails.
type EmailsProps struct {
	Shell   Shell
	Subject string
	Text    string
	Errors  FieldErrors
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
	// Tracking for every campaign, and soft bounces in a row to give up.
	TrackOpens, TrackClicks, TrackingPrivacy bool
	SoftBounceLimit                          string
}
