package feedback

import (
	"bytes"
	"net/textproto"
	"strings"
)

// maxRecipients bounds the reports read from one message.
const maxRecipients = 1000

// dsnTypes are the media types of the machine-readable part of a delivery
// status notification (RFC 3464, RFC 6533); some servers say text/.
var dsnTypes = []string{"message/delivery-status", "message/global-delivery-status", "text/delivery-status"}

// dsnReports reads the delivery-status part of a message, if it has one.
func dsnReports(m *entity) []Report {
	ds := m.find(dsnTypes...)
	if ds == nil {
		return nil
	}
	return recipientReports(fieldBlocks(ds.body), humanText(m))
}

// recipientReports turns the per-recipient field blocks of a DSN into
// reports; human is the notification's text, read when a block says too
// little about why.
func recipientReports(blocks []textproto.MIMEHeader, human string) []Report {
	var reports []Report
	for _, b := range blocks {
		if len(reports) >= maxRecipients {
			break
		}
		if b.Get("Final-Recipient") == "" && b.Get("Original-Recipient") == "" && findStatus(b.Get("Status")) == "" {
			continue
		}
		if r, ok := recipientReport(b, human); ok {
			reports = append(reports, r)
		}
	}
	return reports
}

// recipientReport reads one per-recipient block.
func recipientReport(b textproto.MIMEHeader, human string) (Report, bool) {
	r := Report{Provider: "dsn", Status: findStatus(b.Get("Status"))}
	r.Recipient = dsnAddress(b.Get("Original-Recipient"))
	if r.Recipient == "" {
		r.Recipient = dsnAddress(b.Get("Final-Recipient"))
	}
	diag := stripType(b.Get("Diagnostic-Code"))
	r.Reason = oneLine(diag)
	r.Code = findCode(diag)
	if s := findStatus(diag); s != "" && (r.Status == "" || strings.HasSuffix(r.Status, ".0.0") && s[0] == r.Status[0]) {
		r.Status = s
	}
	switch action(b.Get("Action"), r.Status) {
	case "failed":
		r.Kind = Bounce
	case "delayed":
		r.Kind = Delay
	case "delivered", "relayed", "expanded", "deliverable":
		r.Kind = Delivery
		return r, true
	default:
		return r, false
	}
	if r.Reason == "" {
		r.Reason = diagnosticLines(human)
		r.Code = findCode(r.Reason)
	}
	classify(&r, r.Reason, human)
	if r.Kind == Delay {
		r.Severity = Soft
	}
	return r, true
}

// action returns a block's Action in lower case, or what its Status
// implies when the server left the Action out.
func action(a, status string) string {
	a = strings.ToLower(strings.TrimSpace(a))
	if i := strings.IndexAny(a, " (;"); i > 0 {
		a = a[:i]
	}
	if a != "" {
		return a
	}
	if strings.HasPrefix(status, "2.") {
		return "delivered"
	}
	return "failed"
}

// dsnAddress reads an address field ("rfc822; user@example.com") down to
// the lower-case address, or "" when it holds none.
func dsnAddress(v string) string {
	return cleanAddress(stripType(v))
}

// stripType removes the type ("rfc822;", "smtp;") that starts DSN fields.
func stripType(v string) string {
	if t, rest, ok := strings.Cut(v, ";"); ok && len(t) < 20 && !strings.ContainsAny(strings.TrimSpace(t), " <@") {
		return strings.TrimSpace(rest)
	}
	return strings.TrimSpace(v)
}

// fieldBlocks reads text as blocks of header-like fields separated by
// empty lines, the shape of a DSN's machine-readable part.
func fieldBlocks(text []byte) []textproto.MIMEHeader {
	var blocks []textproto.MIMEHeader
	cur := textproto.MIMEHeader{}
	var key string
	for rest := text; len(rest) > 0 && len(blocks) <= maxRecipients; {
		var line []byte
		line, rest = cutLine(rest)
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			if len(cur) > 0 {
				blocks = append(blocks, cur)
				cur = textproto.MIMEHeader{}
			}
			key = ""
			continue
		}
		addField(cur, &key, line)
	}
	if len(cur) > 0 {
		blocks = append(blocks, cur)
	}
	return blocks
}

// originalMessageID returns the Message-ID of the message a report is
// about, from its attached copy or headers, without angle brackets.
func originalMessageID(m *entity) string {
	if orig := original(m); orig != nil {
		if id := cleanMessageID(orig.header.Get("Message-Id")); id != "" {
			return id
		}
	}
	return textMessageID(notificationText(m))
}

// original returns the attached copy of the message a report is about.
func original(m *entity) *entity {
	var found *entity
	m.walk(func(e *entity) bool {
		if e != m && isAttachedMessage(e.mediaType) && len(e.children) > 0 {
			found = e.children[0]
			return false
		}
		return true
	})
	return found
}

// cleanMessageID trims a Message-ID down to what is between its brackets.
func cleanMessageID(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		v = v[i+1:]
		if j := strings.IndexByte(v, '>'); j >= 0 {
			v = v[:j]
		}
	}
	if len(v) > 500 || strings.ContainsAny(v, " \t") {
		return ""
	}
	return v
}
