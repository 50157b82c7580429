package feedback

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxWebhookBody bounds every body the provider parsers accept: an SNS
// message, an SES notification, a Postmark, SendGrid or Mailgun webhook.
// Providers batch at most a few hundred small events per request, far below.
const MaxWebhookBody = 1 << 20

// ErrBodyTooLarge is returned for a body larger than MaxWebhookBody.
var ErrBodyTooLarge = errors.New("feedback: body larger than 1 MiB")

// decodeWebhook checks a body's size and decodes its JSON into v, naming
// the provider in the error so a log line says whose payload was bad.
func decodeWebhook(provider string, body []byte, v any) error {
	if len(body) > MaxWebhookBody {
		return fmt.Errorf("feedback: %s: %w", provider, ErrBodyTooLarge)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("feedback: %s: %w", provider, err)
	}
	return nil
}

// looseString takes a JSON string or number as text: providers document a
// field as one and send the other (Mailgun's signature timestamp, Postmark's
// bounce ID), and a payload should not fail over it.
type looseString string

func (s *looseString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var v string
		err := json.Unmarshal(b, &v)
		*s = looseString(v)
		return err
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*s = looseString(n)
	return nil
}

// unixTime reads seconds since the epoch, with or without a fraction; zero
// when absent or out of any sensible range.
func unixTime(s looseString) time.Time {
	f, err := strconv.ParseFloat(string(s), 64)
	if err != nil || math.IsNaN(f) || f <= 0 || f > 1e11 {
		return time.Time{}
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

// isoTime reads an ISO 8601 timestamp; Postmark sends seven fractional
// digits, and some of its fields come without a zone, which means UTC.
func isoTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// reasonLine puts a server's words on one valid UTF-8 line of at most
// MaxReason bytes, cut on a character boundary.
func reasonLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= MaxReason {
		return s
	}
	cut := MaxReason
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// recipientAddr is an address as Report keeps it: bare and in lower case.
func recipientAddr(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '<'); i >= 0 && strings.HasSuffix(s, ">") {
		s = s[i+1 : len(s)-1]
	}
	return strings.ToLower(strings.TrimSpace(s))
}

// messageID strips the angle brackets a Message-ID header keeps.
func messageID(s string) string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "<"), ">")
}

// smtpReply reads the reply code and enhanced status at the start of a
// server's answer ("550 5.1.1 no such user"), after any diagnostic type
// ("smtp; "), and returns the answer without that type as the reason.
func smtpReply(s string) (code int, status, reason string) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, ';'); i > 0 && i < 16 && !strings.ContainsAny(s[:i], " \t") {
		s = strings.TrimSpace(s[i+1:])
	}
	rest := s
	if len(s) >= 3 && s[0] >= '2' && s[0] <= '5' && isDigit(s[1]) && isDigit(s[2]) &&
		(len(s) == 3 || s[3] == ' ' || s[3] == '-') {
		code, _ = strconv.Atoi(s[:3])
		rest = strings.TrimLeft(s[3:], " -")
	}
	if tok, _, _ := strings.Cut(rest, " "); enhancedStatus(tok) {
		status = tok
	}
	return code, status, reasonLine(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// enhancedStatus reports whether s is an RFC 3463 status code: 5.1.1.
func enhancedStatus(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(s) > 9 || (s[0] != '2' && s[0] != '4' && s[0] != '5') {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// validStatus is s if it is an enhanced status code, else "".
func validStatus(s string) string {
	if enhancedStatus(s) {
		return s
	}
	return ""
}

// repeatVerdict reports a provider declining an address for an earlier
// hard bounce, complaint or unsubscribe (its suppression list): that
// verdict again, marked Suppressed so it is not counted as a new one.
func repeatVerdict(r Report, k Kind) Report {
	r.Kind, r.Severity, r.Category = k, "", ""
	switch k {
	case Bounce:
		r.Severity, r.Category = Hard, Suppressed
	case Complaint:
		r.Category = Suppressed
	}
	return r
}

// orDefault is s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
