package feedback

import "errors"

// postmarkEvent is one Postmark webhook POST, whatever its RecordType, as
// Postmark's webhook pages document them: Bounce and SpamComplaint (ID,
// Type, MessageID, Email, BouncedAt, Details), Delivery (Recipient,
// DeliveredAt, Details), Open (Recipient, ReceivedAt, UserAgent, Geo.IP),
// Click (the same and OriginalLink) and SubscriptionChange (Recipient,
// ChangedAt, SuppressSending, SuppressionReason).
type postmarkEvent struct {
	RecordType        string
	ID                looseString
	Type              string
	MessageID         string
	Details           string
	Description       string
	Email             string
	Recipient         string
	BouncedAt         string
	DeliveredAt       string
	ReceivedAt        string
	ChangedAt         string
	UserAgent         string
	OriginalLink      string
	SuppressSending   bool
	SuppressionReason string
	Geo               struct{ IP string }
}

// postmarkBounce is what a bounce Type means to Herald.
type postmarkBounce struct {
	kind     Kind
	severity Severity
	category string
}

// postmarkBounces maps Postmark's bounce types. Blocked and DMARCPolicy are
// about the sender, not the address, so they stay soft. Types not listed
// (Subscribe, AddressChange, OpenRelayTest, InboundError, Unconfirmed) are
// not about a message Herald sent and give no report.
var postmarkBounces = map[string]postmarkBounce{
	"HardBounce":              {Bounce, Hard, UserUnknown},
	"BadEmailAddress":         {Bounce, Hard, UserUnknown},
	"ManuallyDeactivated":     {Bounce, Hard, Suppressed},
	"Transient":               {Bounce, Soft, Network},
	"SoftBounce":              {Bounce, Soft, MailboxFull},
	"DnsError":                {Bounce, Soft, DomainNotFound},
	"SpamNotification":        {Bounce, Soft, SpamBlocked},
	"Blocked":                 {Bounce, Soft, Policy},
	"DMARCPolicy":             {Bounce, Soft, Policy},
	"VirusNotification":       {Bounce, Soft, ContentRejected},
	"Unknown":                 {Bounce, Undetermined, Other},
	"AutoResponder":           {AutoReply, "", ""},
	"ChallengeVerification":   {AutoReply, "", ""},
	"Unsubscribe":             {Unsubscribe, "", ""},
	"SpamComplaint":           {Complaint, "", "abuse"},
	"SMTPApiError":            {Reject, "", Other},
	"TemplateRenderingFailed": {Reject, "", Other},
}

// postmarkIgnored are bounce types that are not about delivery at all.
var postmarkIgnored = map[string]bool{
	"Subscribe": true, "AddressChange": true, "OpenRelayTest": true,
	"InboundError": true, "Unconfirmed": true,
}

// ParsePostmark reads one Postmark webhook POST. It returns no report for
// record types and bounce types Herald does not track.
//
// Postmark does not sign its webhooks: the caller protects the endpoint
// with the HTTP basic auth configured on the webhook, or a long secret in
// its URL, and checks it before calling ParsePostmark.
//
// EventID is Postmark's bounce ID for bounces and spam complaints; the
// other record types carry none.
func ParsePostmark(body []byte) ([]Report, error) {
	var e postmarkEvent
	if err := decodeWebhook("postmark", body, &e); err != nil {
		return nil, err
	}
	if e.RecordType == "" {
		return nil, errors.New("feedback: postmark: no RecordType")
	}
	r := Report{MessageID: e.MessageID, Provider: "postmark", Recipient: recipientAddr(e.Recipient)}
	switch e.RecordType {
	case "Bounce", "SpamComplaint":
		return postmarkBounceReport(r, e), nil
	case "Delivery":
		r.Kind, r.At = Delivery, isoTime(e.DeliveredAt)
		r.Code, r.Status, r.Reason = smtpReply(e.Details)
	case "Open", "Click":
		r.Kind, r.At = Open, isoTime(e.ReceivedAt)
		r.UserAgent, r.IP = reasonLine(e.UserAgent), reasonLine(e.Geo.IP)
		if e.RecordType == "Click" {
			r.Kind, r.URL = Click, reasonLine(e.OriginalLink)
		}
	case "SubscriptionChange":
		return postmarkSubscription(r, e), nil
	default:
		return nil, nil
	}
	return []Report{r}, nil
}

func postmarkBounceReport(r Report, e postmarkEvent) []Report {
	if postmarkIgnored[e.Type] {
		return nil
	}
	b, ok := postmarkBounces[e.Type]
	if !ok {
		b = postmarkBounces["Unknown"]
	}
	if e.RecordType == "SpamComplaint" {
		b = postmarkBounces["SpamComplaint"]
	}
	r.Kind, r.Severity, r.At = b.kind, b.severity, isoTime(e.BouncedAt)
	r.Recipient = recipientAddr(e.Email)
	r.EventID = reasonLine(string(e.ID))
	r.Code, r.Status, r.Reason = smtpReply(orDefault(e.Details, e.Description))
	r.Category = b.category
	if b.kind == Bounce {
		r.Category = orDefault(statusCategory(r.Status), b.category)
	}
	return []Report{r}
}

// postmarkSuppressions maps a SubscriptionChange's SuppressionReason. A
// hard bounce or spam complaint repeats what the Bounce and SpamComplaint
// webhooks said; a manual suppression is how Postmark records a recipient
// unsubscribing.
var postmarkSuppressions = map[string]Kind{
	"HardBounce": Bounce, "SpamComplaint": Complaint, "ManualSuppression": Unsubscribe,
}

// postmarkSubscription reports an address Postmark stopped sending to;
// reactivations give no report.
func postmarkSubscription(r Report, e postmarkEvent) []Report {
	k, ok := postmarkSuppressions[e.SuppressionReason]
	if !e.SuppressSending || !ok {
		return nil
	}
	r.At = isoTime(e.ChangedAt)
	return []Report{repeatVerdict(r, k)}
}
