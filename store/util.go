package store

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"net/mail"
	"sort"
	"strings"
	"unicode"

	"github.com/mattn/go-sqlite3"
)

// ValidationError carries one message per invalid field, named as in the API.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	return "invalid input: " + strings.Join(e.Messages(), "; ")
}

// Messages lists each invalid field with its message, as "field: message",
// in the order of the fields' names.
func (e *ValidationError) Messages() []string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + ": " + e.Fields[k]
	}
	return out
}

// CheckEmail returns what is wrong with an email address, or "". The domain
// must be a host name with a dot; addresses at bare hosts or IP literals are
// not deliverable on the internet.
func CheckEmail(email string) string {
	email = strings.TrimSpace(email)
	if email == "" {
		return "Enter an email address."
	}
	a, err := mail.ParseAddress(email)
	at := strings.LastIndexByte(email, '@')
	if err != nil || a.Address != email || at < 1 || !validDomain(strings.ToLower(email[at+1:])) {
		return "Enter a valid email address, like name@example.com."
	}
	if at > 64 || len(email) > 254 {
		return "This address is longer than email allows."
	}
	return ""
}

// NormalizeEmail trims an address and lower-cases it, so the same mailbox
// written in any case is one contact.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// hasControl reports whether s holds a control character, such as a line break.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// randomToken returns n random bytes as lower-case base32 text.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.ToLower(tokenEncoding.EncodeToString(b))
}

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func isUniqueViolation(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintUnique
}
