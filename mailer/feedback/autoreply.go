package feedback

import "strings"

// autoReplySubjects start the Subject of out-of-office and similar
// answers in the languages most often met.
var autoReplySubjects = []string{
	"out of office", "out of the office", "automatic reply", "auto reply", "auto-reply",
	"autoreply", "auto response", "auto-response", "autoresponse", "automatic response",
	"abwesenheitsnotiz", "automatische antwort", "réponse automatique", "respuesta automática",
	"risposta automatica", "automatisch antwoord", "resposta automática", "away from",
	"vacation", "on vacation", "on leave",
}

// isAutoReply says whether m is an automatic answer (RFC 3834), from the
// headers that autoresponders set or from its Subject.
func isAutoReply(m *entity) bool {
	h := m.header
	auto := strings.ToLower(h.Get("Auto-Submitted"))
	prec := strings.ToLower(h.Get("Precedence"))
	switch {
	case strings.HasPrefix(strings.TrimSpace(auto), "auto-replied"),
		h.Get("X-Autoreply") != "", h.Get("X-Autorespond") != "", h.Get("X-Autoresponder") != "",
		strings.Contains(prec, "auto_reply"), strings.Contains(prec, "auto-reply"),
		strings.EqualFold(strings.TrimSpace(h.Get("X-Apple-Action")), "vacation"):
		return true
	}
	subject := strings.ToLower(strings.TrimSpace(decodeHeader(h.Get("Subject"))))
	return hasAnyPrefix(subject, autoReplySubjects)
}

// autoReplyReport is the one report an automatic answer makes: from whom,
// about which message, in the words of its Subject.
func autoReplyReport(m *entity) Report {
	return Report{
		Kind:      AutoReply,
		Recipient: cleanAddress(m.header.Get("From")),
		MessageID: cleanMessageID(m.header.Get("In-Reply-To")),
		Reason:    oneLine(decodeHeader(m.header.Get("Subject"))),
		Provider:  "autoreply",
	}
}

// isUnsubscribeRequest says whether m is a mailto unsubscribe request
// (RFC 8058 and RFC 2369): those are handled with the unsubscribe links,
// not as feedback, even when the client marks them Auto-Submitted.
func isUnsubscribeRequest(m *entity) bool {
	return strings.EqualFold(strings.TrimSpace(decodeHeader(m.header.Get("Subject"))), "unsubscribe")
}
