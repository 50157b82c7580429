// Package addr holds Herald's one rule for host names and email addresses.
// store (contacts, suppressions, DKIM keys, domain limits) and mailer (DKIM
// signing, DNS checks) both ask it, so a domain one accepts the other
// accepts, in the same form. It imports no other Herald package.
package addr

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// Error says what is wrong with a domain or an address and what to type
// instead, in words fit to show the person who typed it.
type Error struct {
	msg string
}

func (e *Error) Error() string { return e.msg }

// Limits of RFC 1035 and RFC 5321, counted on the ASCII form.
const (
	maxLabel  = 63
	maxDomain = 253
	maxLocal  = 64
	maxEmail  = 254
)

// profile converts and checks internationalised names. Registration rather
// than Lookup: Lookup is made for resolving what someone typed into a
// browser and quietly maps it, dropping soft hyphens and zero-width spaces
// and folding full-width letters, so two different strings would become one
// stored key and an invisible character would vanish instead of being
// refused. Registration maps nothing and refuses what RFC 5891 section 4
// refuses, including labels that break the Bidi rule (Latin letters mixed
// with Hebrew or Arabic in one label). It does not refuse a label that
// mixes Latin and Cyrillic look-alikes; no IDNA profile does. Domain folds
// case and NFC-normalises first, the only changes a person could not see or
// would expect.
var profile = idna.Registration

// Domain returns host as Herald stores and compares it: lower case, ASCII,
// an internationalised name in its xn-- form (bücher.de is
// xn--bcher-kva.de), so it matches what DNS and mail servers see. A host that
// is not a domain name of two labels or more (no IP addresses, no bare host
// names, no trailing dot) is refused with an *Error saying what to type.
func Domain(host string) (string, error) {
	return domain(host, "Enter a domain like example.com")
}

// domain is Domain with the sentence its errors start with, so an address
// can say "email address" where a domain says "domain".
func domain(host, enter string) (string, error) {
	fail := func(format string, args ...any) (string, error) {
		return "", &Error{msg: enter + fmt.Sprintf(format, args...)}
	}
	if host == "" {
		return fail(".")
	}
	// A character takes at most four bytes of UTF-8 and at least one of the
	// encoded form, so a longer host cannot fit, and is not read further.
	if len(host) > 4*maxDomain {
		return fail(" of at most %d characters.", maxDomain)
	}
	if r, ok := invisibleIn(host); ok {
		return fail(": it holds the invisible character %U; type it again without it.", r)
	}
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
		return fail(", not an IP address.")
	}
	if strings.ContainsAny(host, " \t@/:[]\\") {
		return fail(". Leave out spaces, @ and http://.")
	}
	if strings.HasSuffix(host, ".") {
		return fail(", without a dot at the end.")
	}
	if !strings.Contains(host, ".") {
		return fail(", with a dot and its ending, like .com or .org.")
	}
	host = fold(host)
	for label := range strings.SplitSeq(host, ".") {
		switch {
		case label == "":
			return fail(", with no empty part between dots.")
		case strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-"):
			return fail(": a part between dots cannot start or end with a hyphen.")
		}
	}
	// Lengths count the encoded form, which toASCII returns even when it
	// refuses the name, so a long name hears that it is too long.
	ascii, err := toASCII(host)
	if len(ascii) > maxDomain {
		return fail(" of at most %d characters.", maxDomain)
	}
	labels := strings.Split(ascii, ".")
	for _, l := range labels {
		if len(l) > maxLabel {
			return fail(": each part between dots holds at most %d characters (once encoded, for international names).", maxLabel)
		}
	}
	if err != nil {
		if isASCII(host) {
			return fail(". Use only letters, digits and hyphens between the dots (no _ or --, except in xn-- names).")
		}
		return fail(": %s is not a valid international domain name; type it as your registrar shows it.", host)
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fail(": the ending after the last dot cannot be only digits.")
	}
	return ascii, nil
}

// fold writes host in the case IDNA keeps: small letters, except Cherokee,
// which Unicode case-folds to capitals, so Registration refuses its small
// letters. strings.ToLower would make a valid xn-- name invalid once decoded.
func fold(host string) string {
	return strings.Map(func(r rune) rune {
		if r >= utf8.RuneSelf && unicode.Is(unicode.Cherokee, r) {
			return unicode.ToUpper(r)
		}
		return unicode.ToLower(r)
	}, host)
}

// toASCII converts a lower-case host to its ASCII form, or fails with as
// much of it converted as could be. Plain letter-digit-hyphen names skip
// IDNA: for them Registration only adds the rule against -- in the third
// and fourth places, which isLDH checks.
func toASCII(host string) (string, error) {
	if isLDH(host) {
		return host, nil
	}
	ascii, err := profile.ToASCII(norm.NFC.String(host))
	if err != nil {
		return ascii, err
	}
	// An xn-- label may decode to what Registration refuses when typed in
	// Unicode; check the decoded form so both spellings of one name get one
	// answer.
	uni, err := profile.ToUnicode(ascii)
	if err != nil {
		return ascii, err
	}
	if _, err := profile.ToASCII(uni); err != nil {
		return ascii, err
	}
	for _, r := range uni {
		if !idnaRune(r) {
			return ascii, errNotIDNA
		}
	}
	return ascii, nil
}

var errNotIDNA = errors.New("addr: a label holds a character IDNA2008 does not allow")

// idnaRune reports whether r may appear in an IDNA2008 label. x/net/idna
// follows UTS 46, which also lets through symbols such as emoji that
// IDNA2008 disallows (its NV8 marks); this keeps to IDNA2008's classes:
// letters, marks, decimal digits, the hyphen and the dot, and the few
// punctuation marks it allows in context (Catalan middle dot, Greek keraia,
// Hebrew geresh and gershayim, katakana middle dot). Invisible joiners are
// letters to IDNA in some contexts but are refused here, as browsers do, since
// they let two different names look the same.
func idnaRune(r rune) bool {
	switch r {
	case '-', '.', '\u00b7', '\u0375', '\u05f3', '\u05f4', '\u30fb':
		return true
	}
	return !Invisible(r) && unicode.In(r, unicode.L, unicode.M, unicode.Nd)
}

// isLDH reports whether every label of host is lower-case letters, digits
// and hyphens with no hyphens in its third and fourth places, which IDNA
// keeps for xn-- names.
func isLDH(host string) bool {
	for label := range strings.SplitSeq(host, ".") {
		if len(label) >= 4 && label[2:4] == "--" {
			return false
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func isASCII(s string) bool {
	for _, c := range []byte(s) {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// IsLabel reports whether s is one plain DNS label, as a DKIM selector is:
// up to 63 ASCII letters, digits and inner hyphens.
func IsLabel(s string) bool {
	if s == "" || len(s) > maxLabel || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Email returns address with its domain as Domain returns it, the local
// part untouched, or an *Error saying what to type. The local part must be
// ASCII: a non-ASCII one (jürgen@…) can only be delivered over SMTPUTF8,
// which Herald does not send and many servers do not accept, so it is
// refused rather than failing at send time. An internationalised domain is
// fine, since its xn-- form needs no SMTPUTF8.
func Email(address string) (string, error) {
	const enter = "Enter a valid email address, like name@example.com"
	if address == "" {
		return "", &Error{msg: "Enter an email address."}
	}
	if len(address) > 4*maxEmail {
		return "", &Error{msg: "This address is longer than email allows."}
	}
	if r, ok := invisibleIn(address); ok {
		return "", &Error{msg: fmt.Sprintf("This address holds the invisible character %U; type it again without it.", r)}
	}
	at := strings.LastIndexByte(address, '@')
	if at < 1 {
		return "", &Error{msg: enter + "."}
	}
	local := address[:at]
	if !isASCII(local) {
		return "", &Error{msg: "Enter an address with only ASCII letters, digits and punctuation before the @: " +
			"Herald sends without SMTPUTF8, which accented or non-Latin letters there would need."}
	}
	// The domain goes first so that its faults get the words the domain
	// rule has for them, as they do where a domain is typed alone.
	d, err := domain(address[at+1:], enter)
	if err != nil {
		return "", err
	}
	if a, err := mail.ParseAddress(local + "@" + d); err != nil || a.Address != local+"@"+d {
		return "", &Error{msg: enter + "."}
	}
	if len(local) > maxLocal || len(local)+1+len(d) > maxEmail {
		return "", &Error{msg: "This address is longer than email allows."}
	}
	return local + "@" + d, nil
}

// Invisible reports whether r is a character a reader cannot see or that
// breaks a line: controls (NUL, line breaks), format characters (bidi
// overrides and isolates, zero-width spaces and joiners, the byte-order
// mark, soft hyphens), line and paragraph separators, and the Hangul fillers
// used to make blank-looking names. Host names and addresses never hold one;
// names and subjects allow joiners where a script or an emoji needs them.
func Invisible(r rune) bool {
	switch r {
	case '\u115f', '\u1160', '\u3164', '\uffa0':
		return true
	}
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// invisibleIn returns the first invisible character of s.
func invisibleIn(s string) (rune, bool) {
	for _, r := range s {
		if Invisible(r) {
			return r, true
		}
	}
	return 0, false
}
