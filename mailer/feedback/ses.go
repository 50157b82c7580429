package feedback

import (
	"errors"
	"fmt"
	"time"
)

// sesEvent is an SES notification or an event published through a
// configuration set, as the SES developer guide documents them ("Amazon
// SNS notification contents", "Contents of event data that Amazon SES
// publishes to Amazon SNS"). Only the fields Herald uses are decoded.
type sesEvent struct {
	NotificationType string `json:"notificationType"`
	EventType        string `json:"eventType"`
	Mail             struct {
		MessageID   string   `json:"messageId"`
		Timestamp   string   `json:"timestamp"`
		Destination []string `json:"destination"`
		// CommonHeaders are there when the notification includes the
		// original headers.
		CommonHeaders struct {
			MessageID string `json:"messageId"`
		} `json:"commonHeaders"`
	} `json:"mail"`
	Bounce *struct {
		BounceType        string         `json:"bounceType"`
		BounceSubType     string         `json:"bounceSubType"`
		BouncedRecipients []sesRecipient `json:"bouncedRecipients"`
		Timestamp         string         `json:"timestamp"`
		FeedbackID        string         `json:"feedbackId"`
	} `json:"bounce"`
	Complaint *struct {
		ComplainedRecipients  []sesRecipient `json:"complainedRecipients"`
		Timestamp             string         `json:"timestamp"`
		FeedbackID            string         `json:"feedbackId"`
		ComplaintSubType      string         `json:"complaintSubType"`
		ComplaintFeedbackType string         `json:"complaintFeedbackType"`
	} `json:"complaint"`
	Delivery *struct {
		Timestamp    string   `json:"timestamp"`
		Recipients   []string `json:"recipients"`
		SMTPResponse string   `json:"smtpResponse"`
	} `json:"delivery"`
	Reject *struct {
		Reason string `json:"reason"`
	} `json:"reject"`
	Open          *sesEngagement `json:"open"`
	Click         *sesEngagement `json:"click"`
	DeliveryDelay *struct {
		Timestamp         string         `json:"timestamp"`
		DelayType         string         `json:"delayType"`
		DelayedRecipients []sesRecipient `json:"delayedRecipients"`
	} `json:"deliveryDelay"`
}

// sesRecipient is one entry of bouncedRecipients, complainedRecipients or
// delayedRecipients; status and diagnosticCode come from the DSN, if any.
type sesRecipient struct {
	EmailAddress   string `json:"emailAddress"`
	Status         string `json:"status"`
	DiagnosticCode string `json:"diagnosticCode"`
}

type sesEngagement struct {
	Timestamp string `json:"timestamp"`
	IPAddress string `json:"ipAddress"`
	UserAgent string `json:"userAgent"`
	Link      string `json:"link"`
}

// ParseSES reads the Message of an SNS notification from SES: a bounce,
// complaint or delivery notification ("notificationType"), or an event
// published through a configuration set ("eventType"), which adds reject,
// delivery delay, open and click. It returns one Report per recipient;
// events Herald does not track (Send, Rendering Failure, Subscription, and
// types SES adds later) give none.
//
// EventID is SES's feedbackId joined with the recipient, "feedbackId/addr",
// for bounces and complaints, so every Report of a notification is distinct.
// Other events carry no id of their own: EventID is empty and the caller
// sets it from the SNS MessageId in the same form.
func ParseSES(message string) ([]Report, error) {
	if len(message) > MaxWebhookBody {
		return nil, fmt.Errorf("feedback: ses: %w", ErrBodyTooLarge)
	}
	var e sesEvent
	if err := decodeWebhook("ses", []byte(message), &e); err != nil {
		return nil, err
	}
	kind := orDefault(e.EventType, e.NotificationType)
	if kind == "" {
		return nil, errors.New("feedback: ses: neither notificationType nor eventType")
	}
	if e.Mail.MessageID == "" {
		return nil, errors.New("feedback: ses: no mail.messageId")
	}
	base := Report{MessageID: e.Mail.MessageID, At: isoTime(e.Mail.Timestamp), Provider: "ses",
		HeaderID: cleanMessageID(e.Mail.CommonHeaders.MessageID)}
	switch {
	case kind == "Bounce" && e.Bounce != nil:
		return sesBounces(base, e), nil
	case kind == "Complaint" && e.Complaint != nil:
		return sesComplaints(base, e), nil
	case kind == "Delivery" && e.Delivery != nil:
		return sesDeliveries(base, e), nil
	case kind == "DeliveryDelay" && e.DeliveryDelay != nil:
		return sesDelays(base, e), nil
	case kind == "Reject" && e.Reject != nil:
		return sesRejects(base, e), nil
	case kind == "Open" && e.Open != nil:
		return sesEngagements(base, e.Mail.Destination, Open, e.Open), nil
	case kind == "Click" && e.Click != nil:
		return sesEngagements(base, e.Mail.Destination, Click, e.Click), nil
	}
	return nil, nil
}

// sesSeverities maps bounceType; anything else is undetermined.
var sesSeverities = map[string]Severity{"Permanent": Hard, "Transient": Soft}

// sesBounceCategories maps bounceSubType. General and Undetermined say
// nothing, so the DSN's status decides.
var sesBounceCategories = map[string]string{
	"NoEmail":                  UserUnknown,
	"Suppressed":               Suppressed,
	"OnAccountSuppressionList": Suppressed,
	"MailboxFull":              MailboxFull,
	"MessageTooLarge":          TooLarge,
	"ContentRejected":          ContentRejected,
	"AttachmentRejected":       ContentRejected,
}

func sesBounces(base Report, e sesEvent) []Report {
	b := e.Bounce
	base.Kind, base.At = Bounce, sesTime(b.Timestamp, base)
	base.Severity = sesSeverities[b.BounceType]
	if base.Severity == "" {
		base.Severity = Undetermined
	}
	var out []Report
	for _, rcpt := range b.BouncedRecipients {
		r, ok := sesRecipientReport(base, rcpt, b.FeedbackID)
		if !ok {
			continue
		}
		r.Category = orDefault(sesBounceCategories[b.BounceSubType], orDefault(statusCategory(r.Status), Other))
		out = append(out, r)
	}
	return out
}

func sesComplaints(base Report, e sesEvent) []Report {
	c := e.Complaint
	base.Kind, base.At = Complaint, sesTime(c.Timestamp, base)
	// A complaint "OnAccountSuppressionList" is SES not sending to an
	// address that complained before, not a new complaint.
	base.Category = c.ComplaintFeedbackType
	if c.ComplaintSubType == "OnAccountSuppressionList" {
		base.Category = Suppressed
	}
	var out []Report
	for _, rcpt := range c.ComplainedRecipients {
		if r, ok := sesRecipientReport(base, rcpt, c.FeedbackID); ok {
			out = append(out, r)
		}
	}
	return out
}

func sesDeliveries(base Report, e sesEvent) []Report {
	d := e.Delivery
	base.Kind, base.At = Delivery, sesTime(d.Timestamp, base)
	base.Code, base.Status, base.Reason = smtpReply(d.SMTPResponse)
	return sesPerAddress(base, d.Recipients)
}

// sesDelayCategories maps delayType; the others (InternalFailure, General,
// Undetermined) say nothing more than "delayed".
var sesDelayCategories = map[string]string{
	"MailboxFull":                    MailboxFull,
	"SpamDetected":                   SpamBlocked,
	"RecipientServerError":           Network,
	"IPFailure":                      Policy,
	"TransientCommunicationFailure":  Network,
	"BYOIPHostNameLookupUnavailable": Network,
	"SendingDeferral":                RateLimited,
}

func sesDelays(base Report, e sesEvent) []Report {
	d := e.DeliveryDelay
	base.Kind, base.At = Delay, sesTime(d.Timestamp, base)
	var out []Report
	for _, rcpt := range d.DelayedRecipients {
		if r, ok := sesRecipientReport(base, rcpt, ""); ok {
			r.Category = orDefault(sesDelayCategories[d.DelayType], orDefault(statusCategory(r.Status), Other))
			out = append(out, r)
		}
	}
	return out
}

// sesRejects reports SES refusing the message (a virus, "Bad content") for
// every recipient it was meant for; the event carries no time of its own.
func sesRejects(base Report, e sesEvent) []Report {
	base.Kind, base.Category = Reject, ContentRejected
	base.Reason = reasonLine(e.Reject.Reason)
	return sesPerAddress(base, e.Mail.Destination)
}

// sesEngagements reports an open or click once. SES does not say which
// recipient opened, so Recipient is set only for a message to one address,
// which is how Herald sends.
func sesEngagements(base Report, to []string, kind Kind, g *sesEngagement) []Report {
	base.Kind, base.At = kind, sesTime(g.Timestamp, base)
	base.UserAgent, base.IP = reasonLine(g.UserAgent), reasonLine(g.IPAddress)
	if kind == Click {
		base.URL = reasonLine(g.Link)
	}
	if len(to) == 1 {
		base.Recipient = recipientAddr(to[0])
	}
	return []Report{base}
}

// sesRecipientReport fills a report from one listed recipient: its status
// and diagnostic code, and an EventID when the notification has a feedbackId.
func sesRecipientReport(base Report, rcpt sesRecipient, feedbackID string) (Report, bool) {
	r := base
	r.Recipient = recipientAddr(rcpt.EmailAddress)
	if r.Recipient == "" {
		return Report{}, false
	}
	r.Code, r.Status, r.Reason = smtpReply(rcpt.DiagnosticCode)
	r.Status = orDefault(validStatus(rcpt.Status), r.Status)
	if feedbackID != "" {
		r.EventID = reasonLine(feedbackID) + "/" + r.Recipient
	}
	return r, true
}

// sesPerAddress copies base once for each address.
func sesPerAddress(base Report, addrs []string) []Report {
	var out []Report
	for _, a := range addrs {
		r := base
		if r.Recipient = recipientAddr(a); r.Recipient != "" {
			out = append(out, r)
		}
	}
	return out
}

// sesTime is the event's own time, or the send time when it has none.
func sesTime(s string, base Report) time.Time {
	if t := isoTime(s); !t.IsZero() {
		return t
	}
	return base.At
}
