package feedback

import (
	"net/mail"
	"strings"
)

// arfReports reads a feedback report (RFC 5965): one complaint for each
// recipient it names.
func arfReports(m *entity) []Report {
	fr := m.find("message/feedback-report")
	if fr == nil {
		return legacyComplaint(m)
	}
	var types, rcpts []string
	var arrival string
	for _, b := range fieldBlocks(fr.body) {
		types = append(types, b.Values("Feedback-Type")...)
		rcpts = append(rcpts, b.Values("Original-Rcpt-To")...)
		if arrival == "" {
			arrival = b.Get("Arrival-Date")
		}
	}
	category := Other
	if len(types) > 0 {
		category = feedbackType(types[0])
	}
	r := Report{Kind: Complaint, Category: category, Provider: "arf"}
	if t, err := mail.ParseDate(arrival); err == nil {
		r.At = t
	}
	return complaints(m, r, addressList(rcpts))
}

// feedbackType reads a Feedback-Type down to its lower-case token.
func feedbackType(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if i := strings.IndexAny(v, " ;("); i >= 0 {
		v = v[:i]
	}
	if v == "" || len(v) > 50 {
		return Other
	}
	return v
}

// legacyComplaint reads the complaints Hotmail sent before it spoke ARF:
// a note from its staff with the offending message attached.
func legacyComplaint(m *entity) []Report {
	subject := strings.ToLower(decodeHeader(m.header.Get("Subject")))
	if !strings.HasPrefix(strings.TrimSpace(subject), "complaint about message from") {
		return nil
	}
	return complaints(m, Report{Kind: Complaint, Category: "abuse", Provider: "arf"}, nil)
}

// complaints copies r for each recipient, taking them from the copy of the
// original message when the report names none.
func complaints(m *entity, r Report, rcpts []string) []Report {
	orig := original(m)
	if len(rcpts) == 0 && orig != nil {
		rcpts = addressList(strings.Split(orig.header.Get("To"), ","))
	}
	return perRecipient(r, rcpts)
}
