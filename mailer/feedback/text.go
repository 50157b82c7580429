package feedback

import (
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxText bounds the notification text read by the heuristics: the words
// that matter come first, and the rest is usually the returned message.
const maxText = 256 << 10

var (
	statusPattern  = regexp.MustCompile(`\b([245])\.(\d{1,3})\.(\d{1,3})\b`)
	codePattern    = regexp.MustCompile(`(?:^|[^\w.#-])([245]\d\d)(?:[\s,;:-]|$)`)
	addressPattern = regexp.MustCompile(`[A-Za-z0-9._%+=!#$&'*^{}|~/-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+`)
	tagPattern     = regexp.MustCompile(`<[^>]*>`)
)

// findStatus returns the first enhanced status code (RFC 3463) in s, or "".
func findStatus(s string) string {
	return statusPattern.FindString(s)
}

// findCode returns the first SMTP reply code in s, or 0.
func findCode(s string) int {
	m := codePattern.FindStringSubmatch(s)
	if m == nil {
		return 0
	}
	code, _ := strconv.Atoi(m[1])
	return code
}

// oneLine folds s onto one line of single spaces, at most MaxReason bytes,
// cut at a character boundary.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= MaxReason {
		return s
	}
	s = s[:MaxReason]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// cleanAddress reads the address in v, in lower case, or "" when v
// holds none.
func cleanAddress(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	if a, err := mail.ParseAddress(v); err == nil {
		v = a.Address
	} else if m := addressPattern.FindString(v); m != "" {
		v = m
	}
	v = strings.ToLower(strings.Trim(v, "<>.,;:'\" "))
	if !strings.Contains(v, "@") || len(v) > 320 || strings.ContainsAny(v, " \t<>") {
		return ""
	}
	return v
}

// notificationText returns the text a mail server wrote in m, leaving out
// any attached copy of the returned message.
func notificationText(m *entity) string {
	return text(m, true)
}

// humanText is notificationText without the machine-readable status part.
func humanText(m *entity) string {
	return text(m, false)
}

// text collects the text leaves of m, with or without its delivery status.
func text(m *entity, withStatus bool) string {
	var b strings.Builder
	if isAttachedMessage(m.mediaType) {
		// A message that is itself only an attachment: read what it holds.
		for _, c := range m.children {
			collectText(c, &b, withStatus)
		}
	} else {
		collectText(m, &b, withStatus)
	}
	s := b.String()
	if len(s) > maxText {
		s = s[:maxText]
	}
	return s
}

// collectText appends the text leaves of e to b, skipping attached
// messages; depth is bounded by the tree readEntity built.
func collectText(e *entity, b *strings.Builder, withStatus bool) {
	if b.Len() >= maxText || isAttachedMessage(e.mediaType) {
		return
	}
	for _, c := range e.children {
		collectText(c, b, withStatus)
	}
	if len(e.children) > 0 {
		return
	}
	switch {
	case strings.HasPrefix(e.mediaType, "text/html"):
		b.WriteString(tagPattern.ReplaceAllString(string(e.body), " "))
	case strings.HasSuffix(e.mediaType, "delivery-status"):
		if !withStatus {
			return
		}
		b.Write(e.body)
	case strings.HasPrefix(e.mediaType, "text/"), strings.HasPrefix(e.mediaType, "multipart/"):
		// A multipart here is one whose parts could not be found: its body
		// is still the server's words.
		b.Write(e.body)
	default:
		return
	}
	b.WriteString("\n")
}
