package templates

import "time"

// APIKeysProps fill Settings → API keys.
type APIKeysProps struct {
	Shell Shell
	Keys  []APIKeyRow
	// Name, Scopes and Limits are the create form's values.
	Name   string
	Scopes []string
	Limits RateLimitsForm
	// Install is the install's rate limits, the default of every key.
	Install RateLimitsForm
	Errors  FieldErrors
	// Flash is an error to show at the top, for a form without fields of its own.
	Flash Flash
	// NewKey is the secret of a key just created, shown this once.
	NewKey  string
	NewName string
}

// RateLimitsForm is requests a second by class, as typed; "" on a key
// takes the install's.
type RateLimitsForm struct {
	Read, Write, Send string
}

// ScopeChoice describes one scope on the create form.
type ScopeChoice struct {
	Value, Label string
}

// ScopeChoices are the scopes a key can have, with what each allows.
var ScopeChoices = []ScopeChoice{
	{"read", "Read: contacts, lists, templates, campaigns, messages and results"},
	{"write", "Write: change them, import contacts, send campaigns, record events"},
	{"send", "Send: transactional messages only, for a shop's server"},
	{"admin", "Admin: settings, relays, domains, API keys, users and webhooks"},
}

// APIKeyRow is one key in the list of API keys.
type APIKeyRow struct {
	ID         int64
	Name       string
	Prefix     string
	Scopes     string
	Limits     RateLimitsForm
	CreatedAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time
}
