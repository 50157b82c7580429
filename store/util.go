package store

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"sort"
	"strings"
	"unicode"

	"github.com/mattn/go-sqlite3"

	"herald/mailer/addr"
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

// CheckEmail returns what is wrong with an email address, or "": the rule of
// addr.Email, whose domain rule is the one suppressions, DKIM keys and
// domain limits use too.
func CheckEmail(email string) string {
	if _, err := addr.Email(strings.TrimSpace(email)); err != nil {
		return err.Error()
	}
	return ""
}

// NormalizeEmail trims an address and the dot DNS writes after a domain,
// writes an internationalised domain in its xn-- form and lower-cases it, so the same mailbox written in any case or
// script is one contact and matches a suppression of its domain. An invalid
// address is only trimmed and lower-cased, for CheckEmail to refuse.
func NormalizeEmail(email string) string {
	email = strings.TrimSuffix(strings.TrimSpace(email), ".")
	if a, err := addr.Email(email); err == nil {
		email = a
	}
	return strings.ToLower(email)
}

// normalizeDomain trims a domain and the dot zone files write after it and
// writes it as addr.Domain does; an invalid one is only lower-cased, for
// checkDomain to refuse.
func normalizeDomain(d string) string {
	d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
	if a, err := addr.Domain(d); err == nil {
		return a
	}
	return d
}

// checkDomain returns what is wrong with a domain, or "".
func checkDomain(d string) string {
	if _, err := addr.Domain(d); err != nil {
		return err.Error()
	}
	return ""
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
