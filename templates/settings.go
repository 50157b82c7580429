package templates

// settingsTabs are the pages of the Settings section.
var settingsTabs = []struct{ Key, Label, Path string }{
	{"general", "General", "/settings"},
	{"relays", "Sending relays", "/settings/relays"},
	{"domains", "Sending domains", "/settings/domains"},
	{"emails", "Subscription emails", "/settings/emails"},
	{"bounces", "Bounces & webhooks", "/settings/bounces"},
	{"webhooks", "Webhooks", "/settings/webhooks"},
	{"users", "Users", "/settings/users"},
	{"api-keys", "API keys", "/settings/api-keys"},
	{"api", "API reference", "/settings/api"},
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

// BouncesProps fill Settings → Bounces & webhooks.
type BouncesProps struct {
	Shell  Shell
	Form   BouncesForm
	Errors FieldErrors
	// SendGridKeySet, MailgunKeySet and MailboxPasswordSet say a secret
	// is saved; secrets are never shown again.
	SendGridKeySet, MailgunKeySet, MailboxPasswordSet bool
	// The webhook URLs to paste into each provider.
	PostmarkURL, SendGridURL, MailgunURL string
}

// BouncesForm is the state of the Settings → Bounces & webhooks form.
type BouncesForm struct {
	BounceDomain    string
	SoftBounceLimit string
	// The POP3 or IMAP mailbox, as typed.
	MailboxProtocol, MailboxHost, MailboxPort, MailboxTLS, MailboxUsername, MailboxFolder string
}

// keyHint says where a provider shows a key, and whether one is saved.
func keyHint(set bool, where string) string {
	if set {
		return "A key is saved; paste a new one to replace it. Found under " + where + "."
	}
	return "Found under " + where + ". Without it, the provider's posts are refused."
}
