package feedback

import (
	"errors"
	"fmt"
	"strings"
)

// MaxMail bounds the size of a message ParseMail reads.
const MaxMail = 10 << 20

// ErrNotReport is ParseMail's answer to a message that is no bounce,
// complaint or automatic reply: a person's mail, or an unsubscribe request.
var ErrNotReport = errors.New("feedback: message is not a bounce, complaint or auto-reply")

// ErrMailTooLarge is ParseMail's answer to a message over MaxMail bytes.
var ErrMailTooLarge = errors.New("feedback: message too large")

// ParseMail reads one RFC 5322 message that came back to Herald and returns
// what it says: a delivery status notification (RFC 3464) or a bounce in
// a mail server's own words gives a Bounce or Delay per recipient (Provider
// "dsn"), a feedback report (RFC 5965) a Complaint per recipient ("arf"),
// and an automatic answer (RFC 3834) one AutoReply ("autoreply"). Any other
// message gives ErrNotReport. It reads at most MaxMail bytes and never
// panics, whatever the input.
func ParseMail(raw []byte) ([]Report, error) {
	if len(raw) > MaxMail {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrMailTooLarge, len(raw), MaxMail)
	}
	m := readEntity(raw, 0, &budget{})
	reports := dsnReports(m)
	if len(reports) == 0 {
		reports = arfReports(m)
	}
	if len(reports) == 0 && isUnsubscribeRequest(m) {
		return nil, ErrNotReport
	}
	if len(reports) == 0 && isBounce(m) {
		reports = textReports(m)
	}
	if len(reports) == 0 && isAutoReply(m) {
		return []Report{autoReplyReport(m)}, nil
	}
	if len(reports) == 0 && isNullSenderFailure(m) {
		reports = textReports(m)
	}
	if len(reports) == 0 {
		return nil, ErrNotReport
	}
	complete(m, reports)
	return reports, nil
}

// complete fills in what a report's own block left out: the Message-ID of
// the returned message, and the recipient when the server named it only
// in its text.
func complete(m *entity, reports []Report) {
	id := originalMessageID(m)
	var rcpts []string
	for i := range reports {
		r := &reports[i]
		if r.MessageID == "" {
			r.MessageID = id
		}
		if r.Recipient == "" && r.Kind != Complaint {
			if rcpts == nil {
				rcpts = append(failedRecipients(m, cutOriginal(notificationText(m))), "")
			}
			r.Recipient = rcpts[0]
		}
	}
}

// textMessageID finds the Message-ID of a returned copy quoted in a
// bounce's text: a bounce's own Message-ID is in its header, so one in its
// body belongs to the copy.
func textMessageID(text string) string {
	for n, rest := 0, text; rest != "" && n < 100000; n++ {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "message-id") {
			if id := cleanMessageID(v); id != "" {
				return id
			}
		}
	}
	return ""
}

// perRecipient copies r once for each of rcpts, or returns r alone when
// no recipient is known.
func perRecipient(r Report, rcpts []string) []Report {
	if len(rcpts) == 0 {
		return []Report{r}
	}
	reports := make([]Report, 0, len(rcpts))
	for _, a := range rcpts {
		r.Recipient = a
		reports = append(reports, r)
	}
	return reports
}
