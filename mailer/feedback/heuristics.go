package feedback

import (
	"net/textproto"
	"strings"
)

// bounceSenders are words in a From that only mail servers sign with.
var bounceSenders = []string{
	"mailer-daemon", "postmaster", "mail delivery", "mail administrator", "mailerdaemon",
	"mail-daemon", "bounce", "mail system", "mdaemon", "mailer daemon", "mail.delivery",
	"post_master",
}

// bounceSubjects are words in the Subject of a bounce; "undeliver" covers
// "undeliverable" and "undelivered".
var bounceSubjects = []string{
	"undeliver", "delivery status", "delivery failure", "failure notice", "returned mail",
	"delivery failed", "delivery has failed", "non remis", "not delivered", "could not be delivered",
	"delivery problem", "nondeliverable", "non-deliverable", "delivery notification", "mail failure",
	"failed delivery", "returned to sender", "delivery report", "undelivered", "rejected",
	"delivery error", "mail delivery", "warning: could not send", "delivery unsuccessful",
	"error sending", "unzustellbar", "non recapitabile", "permanent error", "message bounced",
	"delivery final failure", "failed mail", "notificación", "problem delivering",
	"returned message", "undeliverable", "delayed mail", "delivery delayed", "message delayed",
	"error notification", "エラー通知",
}

// isBounce says whether m was written by a mail server about a message it
// could not deliver: only then are the heuristics trusted, so that a person
// writing "user unknown" is never taken for a bounce.
func isBounce(m *entity) bool {
	h := m.header
	if h.Get("X-Failed-Recipients") != "" || m.mediaType == "multipart/report" {
		return true
	}
	return containsAny(strings.ToLower(h.Get("From")), bounceSenders) ||
		containsAny(strings.ToLower(decodeHeader(h.Get("Subject"))), bounceSubjects)
}

// failureWords say in a bounce's text that a message was not delivered.
var failureWords = []string{
	"could not be delivered", "undeliverable", "delivery failed", "not delivered",
	"unable to deliver", "delivery has failed", "permanent error", "did not reach",
}

// isNullSenderFailure says whether m came from the null return path and
// says a message was not delivered: a weaker sign than isBounce, trusted
// only once m is known not to be an automatic reply.
func isNullSenderFailure(m *entity) bool {
	if strings.TrimSpace(m.header.Get("Return-Path")) != "<>" {
		return false
	}
	return containsAny(strings.ToLower(cutOriginal(notificationText(m))), failureWords)
}

// containsAny says whether s contains any of words.
func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// textReports reads a bounce that has no machine-readable part, from the
// words the server wrote.
func textReports(m *entity) []Report {
	// Some servers write the DSN fields into the text, or forward a whole
	// DSN inline, so they are looked for before the returned copy is cut off.
	full := notificationText(m)
	text := cutOriginal(full)
	if reports := recipientReports(fieldBlocks([]byte(full)), text); len(reports) > 0 {
		return reports
	}
	reason := diagnosticLines(text)
	r := Report{Kind: Bounce, Provider: "dsn", Reason: reason, Code: findCode(reason)}
	if r.Status = findStatus(reason); r.Status == "" {
		r.Status = findStatus(text)
	}
	classify(&r, reason, text)
	if isDelay(m.header, text) {
		r.Kind, r.Severity = Delay, Soft
	}
	return perRecipient(r, failedRecipients(m, text))
}

// delayWords say that a server is still trying.
var delayWords = []string{
	"will continue trying", "still trying", "has not yet been delivered", "delayed",
	"will retry", "not been delivered yet", "delivery is delayed", "warning message only",
}

// isDelay says whether a text bounce is only a warning that delivery is late.
func isDelay(h textproto.MIMEHeader, text string) bool {
	subject := strings.ToLower(decodeHeader(h.Get("Subject")))
	return strings.Contains(subject, "delay") ||
		(strings.Contains(subject, "warning") && containsAny(strings.ToLower(text), delayWords))
}

// originalMarkers start the copy of the returned message inside the
// text of a bounce, once dashes and spaces are trimmed off the line.
var originalMarkers = []string{
	"this is a copy of", "below this line is a copy", "original message follows",
	"original message", "unsent message", "message headers follow", "returned message",
	"the original message headers", "header of the original message", "original message header",
	"headers of the original", "undelivered message", "included is a copy",
}

// cutOriginal returns the text before the copy of the returned message,
// whose addresses and words are the sender's, not the server's.
func cutOriginal(text string) string {
	for off := 0; off < len(text); {
		line, _, _ := strings.Cut(text[off:], "\n")
		trimmed := strings.ToLower(strings.Trim(line, " \t\r-=*_>"))
		if off > 0 && (hasAnyPrefix(trimmed, originalMarkers) ||
			strings.HasPrefix(line, "Received: ") || strings.HasPrefix(line, "Return-Path: ")) {
			return text[:off]
		}
		off += len(line) + 1
	}
	return text
}

// hasAnyPrefix says whether s starts with any of prefixes.
func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// diagnosticLines returns, on one line, what the server said about the
// failure: the lines that carry an SMTP or enhanced status code, or else
// those that name a cause from the phrase table.
func diagnosticLines(text string) string {
	if lines := matchingLines(text, 3, isFailureLine); len(lines) > 0 {
		return oneLine(strings.Join(lines, " "))
	}
	names := func(line string) bool { return phraseCategory(line, false) != "" }
	return oneLine(strings.Join(matchingLines(text, 2, names), " "))
}

// matchingLines returns the first max lines of text, trimmed, that match.
func matchingLines(text string, max int, match func(string) bool) []string {
	var lines []string
	for n, rest := 0, text; rest != "" && n < 10000 && len(lines) < max; n++ {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		if line = strings.TrimSpace(line); line != "" && match(line) {
			lines = append(lines, line)
		}
	}
	return lines
}

// isFailureLine says whether line carries a 4xx or 5xx code: the 2xx and
// 3xx lines of a session transcript say what went well.
func isFailureLine(line string) bool {
	status, code := findStatus(line), findCode(line)
	return (status != "" && status[0] != '2') || code >= 400
}
