// Package feedback is what comes back after a message leaves: bounces,
// complaints, deliveries, delays, rejections, and opens and clicks that a
// provider tracked, in one shape whatever reported them. Its parsers read
// delivery status notifications and feedback reports that arrive by email,
// Amazon SES notifications delivered through SNS, and the event webhooks of
// Postmark, SendGrid and Mailgun. It knows nothing of SQL or HTTP routing:
// callers map each Report to the send or message it concerns.
package feedback

import "time"

// Kind is what a report says happened.
type Kind string

// Kinds of report.
const (
	Bounce    Kind = "bounce"
	Complaint Kind = "complaint"
	Delivery  Kind = "delivery"
	// Delay is a provider saying it is still trying (SES DeliveryDelay).
	Delay Kind = "delay"
	// Reject is a provider refusing to send the message at all (SES Reject).
	Reject Kind = "reject"
	Open   Kind = "open"
	Click  Kind = "click"
	// AutoReply is an out-of-office or similar answer: never a bounce.
	AutoReply Kind = "autoreply"
	// Unsubscribe is a recipient's RFC 8058 mailto unsubscribe request.
	Unsubscribe Kind = "unsubscribe"
)

// Severity says whether a bounce is final.
type Severity string

// Severities of a bounce.
const (
	// Hard bounces are final: the address does not take mail.
	Hard Severity = "hard"
	// Soft bounces may pass: a full mailbox, a server down, a greylist.
	Soft Severity = "soft"
	// Undetermined bounces carry too little to say; they count as soft.
	Undetermined Severity = "undetermined"
)

// Categories say why a bounce happened, in words an owner understands.
const (
	UserUnknown     = "user-unknown"
	MailboxFull     = "mailbox-full"
	DomainNotFound  = "domain-not-found"
	MailboxDisabled = "mailbox-disabled"
	Policy          = "policy"
	SpamBlocked     = "spam-blocked"
	TooLarge        = "too-large"
	RateLimited     = "rate-limited"
	Expired         = "expired"
	Network         = "network"
	ContentRejected = "content-rejected"
	Suppressed      = "suppressed"
	Other           = "other"
)

// Report is one thing a provider or a mail server said about one
// recipient of one message.
type Report struct {
	Kind Kind
	// Severity is set for bounces.
	Severity Severity
	// Category is why a bounce happened (one of the categories above), or
	// for a complaint its feedback type ("abuse", "fraud", "virus", …).
	Category string
	// Status is the enhanced status code, "5.1.1", when there is one.
	Status string
	// Code is the SMTP reply code, 550, when there is one.
	Code int
	// Reason is the server's own words, on one line, at most MaxReason bytes.
	Reason string
	// Recipient is the address the report is about, in lower case.
	Recipient string
	// MessageID names the message the report is about: the provider's id
	// (an SES message id, a Postmark MessageID) or, in a report that came
	// by email, the original Message-ID without angle brackets.
	MessageID string
	// HeaderID is the original Message-ID, without angle brackets, when a
	// provider's report carries it beside its own id.
	HeaderID string
	// EventID is the provider's id of this notification, so a notification
	// delivered twice is counted once; "" when it has none.
	EventID string
	// At is when it happened, as the provider says; zero when unknown.
	At time.Time
	// URL is the link clicked, for clicks.
	URL string
	// UserAgent and IP are the opener's or clicker's, when given.
	UserAgent string
	IP        string
	// Provider names who reported it: "ses", "postmark", "sendgrid",
	// "mailgun", "dsn" (a bounce by email), "arf" (a complaint by email).
	Provider string
}

// MaxReason bounds a report's Reason.
const MaxReason = 1000
