package feedback

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// Headers of SendGrid's Signed Event Webhook.
const (
	SendGridSignatureHeader = "X-Twilio-Email-Event-Webhook-Signature"
	SendGridTimestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp"
)

// VerifySendGrid checks a Signed Event Webhook request: an ECDSA P-256
// signature (base64 ASN.1, from SendGridSignatureHeader) over the SHA-256
// of the timestamp header followed by the raw body. The public key is the
// base64 DER (PKIX) key SendGrid shows in its settings; a PEM copy works too.
// SendGrid documents no freshness window, so none is applied here.
func VerifySendGrid(publicKeyBase64 string, signature, timestamp string, body []byte) error {
	if len(body) > MaxWebhookBody {
		return fmt.Errorf("feedback: sendgrid: %w", ErrBodyTooLarge)
	}
	key, err := sendGridKey(publicKeyBase64)
	if err != nil {
		return err
	}
	if signature == "" || timestamp == "" {
		return errors.New("feedback: sendgrid: missing signature or timestamp header")
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return errors.New("feedback: sendgrid: signature is not base64")
	}
	h := sha256.New()
	h.Write([]byte(timestamp))
	h.Write(body)
	if !ecdsa.VerifyASN1(key, h.Sum(nil), sig) {
		return errors.New("feedback: sendgrid: signature does not match")
	}
	return nil
}

// sendGridKey decodes the verification key into a P-256 public key.
func sendGridKey(s string) (*ecdsa.PublicKey, error) {
	s = strings.TrimSpace(s)
	var der []byte
	if block, _ := pem.Decode([]byte(s)); block != nil {
		der = block.Bytes
	} else {
		var err error
		if der, err = base64.StdEncoding.DecodeString(s); err != nil {
			return nil, errors.New("feedback: sendgrid: verification key is not base64")
		}
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("feedback: sendgrid: verification key: %w", err)
	}
	key, ok := pub.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, errors.New("feedback: sendgrid: verification key is not ECDSA P-256")
	}
	return key, nil
}

// sendGridEvent is one event of SendGrid's Event Webhook, as its "Event
// Webhook Reference" documents it. Only the fields Herald uses are decoded.
type sendGridEvent struct {
	Event          string      `json:"event"`
	Email          string      `json:"email"`
	Timestamp      looseString `json:"timestamp"`
	SGEventID      string      `json:"sg_event_id"`
	SGMessageID    string      `json:"sg_message_id"`
	Type           string      `json:"type"`
	Reason         string      `json:"reason"`
	Status         string      `json:"status"`
	Response       string      `json:"response"`
	Classification string      `json:"bounce_classification"`
	URL            string      `json:"url"`
	UserAgent      string      `json:"useragent"`
	IP             string      `json:"ip"`
}

// sendGridClasses maps bounce_classification; "Unclassified" and
// "Technical" leave it to the status code.
var sendGridClasses = map[string]string{
	"Invalid Address":              UserUnknown,
	"Mailbox Unavailable":          MailboxDisabled,
	"Content":                      ContentRejected,
	"Reputation":                   SpamBlocked,
	"Frequency or Volume Too High": RateLimited,
}

// ParseSendGrid reads an Event Webhook POST: a JSON array of events. It
// returns a report for bounce, dropped, deferred, delivered, open, click,
// spamreport and unsubscribe (and group_unsubscribe); other events give none.
//
// MessageID is sg_message_id up to its first dot, which is the X-Message-Id
// SendGrid returned when the message was sent. EventID is sg_event_id.
func ParseSendGrid(body []byte) ([]Report, error) {
	var events []sendGridEvent
	if err := decodeWebhook("sendgrid", body, &events); err != nil {
		return nil, err
	}
	var out []Report
	for _, e := range events {
		if r, ok := sendGridReport(e); ok {
			out = append(out, r)
		}
	}
	return out, nil
}

func sendGridReport(e sendGridEvent) (Report, bool) {
	id, _, _ := strings.Cut(e.SGMessageID, ".")
	r := Report{
		Recipient: recipientAddr(e.Email), MessageID: id, EventID: reasonLine(e.SGEventID),
		At: unixTime(e.Timestamp), Provider: "sendgrid",
	}
	switch e.Event {
	case "bounce":
		r.Kind, r.Severity = Bounce, Hard
		if e.Type == "blocked" {
			r.Severity = Soft
		}
		r.Code, r.Status, r.Reason = smtpReply(e.Reason)
		r.Status = orDefault(validStatus(e.Status), r.Status)
		r.Category = orDefault(sendGridClasses[e.Classification], orDefault(statusCategory(r.Status), Other))
	case "dropped":
		r = sendGridDropped(r, e.Reason)
	case "deferred", "delivered":
		r.Kind = Delivery
		if e.Event == "deferred" {
			r.Kind = Delay
		}
		r.Code, r.Status, r.Reason = smtpReply(e.Response)
		if r.Kind == Delay {
			r.Category = orDefault(statusCategory(r.Status), Other)
		}
	case "open", "click":
		r.Kind, r.UserAgent, r.IP = Open, reasonLine(e.UserAgent), reasonLine(e.IP)
		if e.Event == "click" {
			r.Kind, r.URL = Click, reasonLine(e.URL)
		}
	case "spamreport":
		r.Kind, r.Category = Complaint, "abuse"
	case "unsubscribe", "group_unsubscribe":
		r.Kind = Unsubscribe
	default:
		return Report{}, false
	}
	return r, true
}

// sendGridSuppressions are the reasons SendGrid drops a message to an
// address on one of its suppression lists.
var sendGridSuppressions = map[string]Kind{
	"Bounced Address": Bounce, "Spam Reporting Address": Complaint, "Unsubscribed Address": Unsubscribe,
}

// sendGridDropped reads a message SendGrid would not send: an earlier
// verdict repeated, or else a rejection.
func sendGridDropped(r Report, reason string) Report {
	r.Reason = reasonLine(reason)
	if k, ok := sendGridSuppressions[reason]; ok {
		return repeatVerdict(r, k)
	}
	r.Kind, r.Category = Reject, Other
	return r
}
