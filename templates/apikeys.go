package templates

import "time"

// APIKeysProps fill Settings → API keys.
type APIKeysProps struct {
	Shell  Shell
	Keys   []APIKeyRow
	Name   string
	Scope  string
	Errors FieldErrors
	// NewKey is the secret of a key just created, shown this once.
	NewKey  string
	NewName string
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
