package feedback

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// MailgunMaxAge is how old a Mailgun signature's timestamp may be (and how
// far ahead of the clock), so a captured request cannot be replayed later.
const MailgunMaxAge = 15 * time.Minute

// MailgunSignature is the signature object Mailgun posts beside each
// webhook's event data.
type MailgunSignature struct {
	Timestamp string
	Token     string
	Signature string
}

// Verify checks s with the domain's HTTP webhook signing key.
func (s MailgunSignature) Verify(signingKey string, now time.Time) error {
	return VerifyMailgun(signingKey, s.Timestamp, s.Token, s.Signature, now)
}

// VerifyMailgun checks a Mailgun webhook signature: the hex HMAC-SHA256 of
// timestamp followed by token, keyed with the webhook signing key, made at
// most MailgunMaxAge from now. The caller may also refuse a token it has
// seen before.
func VerifyMailgun(signingKey, timestamp, token, signature string, now time.Time) error {
	if signingKey == "" {
		return errors.New("feedback: mailgun: no signing key")
	}
	if timestamp == "" || token == "" || signature == "" {
		return errors.New("feedback: mailgun: missing signature fields")
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("feedback: mailgun: signature timestamp is not a number")
	}
	if age := now.Sub(time.Unix(sec, 0)); age > MailgunMaxAge || age < -MailgunMaxAge {
		return errors.New("feedback: mailgun: signature timestamp is too old or in the future")
	}
	got, err := hex.DecodeString(signature)
	if err != nil {
		return errors.New("feedback: mailgun: signature is not hex")
	}
	mac := hmac.New(sha256.New, []byte(signingKey))
	mac.Write([]byte(timestamp))
	mac.Write([]byte(token))
	if !hmac.Equal(got, mac.Sum(nil)) {
		return errors.New("feedback: mailgun: signature does not match")
	}
	return nil
}

// mailgunWebhook is a Mailgun webhook POST, as its "Securing Webhooks" and
// events pages document it: the signature, and the event's data.
type mailgunWebhook struct {
	Signature struct {
		Timestamp looseString `json:"timestamp"`
		Token     string      `json:"token"`
		Signature string      `json:"signature"`
	} `json:"signature"`
	Event *mailgunEvent `json:"event-data"`
}

type mailgunEvent struct {
	Event     string      `json:"event"`
	ID        string      `json:"id"`
	Timestamp looseString `json:"timestamp"`
	Severity  string      `json:"severity"`
	Reason    string      `json:"reason"`
	Recipient string      `json:"recipient"`
	URL       string      `json:"url"`
	IP        string      `json:"ip"`
	Message   struct {
		Headers struct {
			MessageID string `json:"message-id"`
		} `json:"headers"`
	} `json:"message"`
	DeliveryStatus struct {
		Code        looseString `json:"code"`
		Message     string      `json:"message"`
		Description string      `json:"description"`
	} `json:"delivery-status"`
	ClientInfo struct {
		UserAgent string `json:"user-agent"`
	} `json:"client-info"`
}

// ParseMailgun reads a Mailgun webhook POST and returns its signature, for
// Verify, and the report it makes: failed, delivered, opened, clicked,
// complained, unsubscribed and rejected give one; other events none.
//
// MessageID is the Message-ID header of the message, without brackets.
// EventID is the event's id and Unix time, "id/seconds": Mailgun promises
// an id unique only within a day, and a redelivery repeats both.
func ParseMailgun(body []byte) ([]Report, MailgunSignature, error) {
	var w mailgunWebhook
	if err := decodeWebhook("mailgun", body, &w); err != nil {
		return nil, MailgunSignature{}, err
	}
	sig := MailgunSignature{Timestamp: string(w.Signature.Timestamp), Token: w.Signature.Token, Signature: w.Signature.Signature}
	if w.Event == nil {
		return nil, sig, errors.New("feedback: mailgun: no event-data")
	}
	r, ok := mailgunReport(*w.Event)
	if !ok {
		return nil, sig, nil
	}
	return []Report{r}, sig, nil
}

func mailgunReport(e mailgunEvent) (Report, bool) {
	r := Report{
		Recipient: recipientAddr(e.Recipient), MessageID: messageID(e.Message.Headers.MessageID),
		At: unixTime(e.Timestamp), Provider: "mailgun",
	}
	if e.ID != "" {
		r.EventID = reasonLine(e.ID)
		if !r.At.IsZero() {
			r.EventID += fmt.Sprintf("/%d", r.At.Unix())
		}
	}
	switch e.Event {
	case "failed":
		r = mailgunFailure(r, e)
	case "delivered":
		r.Kind = Delivery
		r = mailgunStatus(r, e)
	case "opened", "clicked":
		r.Kind, r.UserAgent, r.IP = Open, reasonLine(e.ClientInfo.UserAgent), reasonLine(e.IP)
		if e.Event == "clicked" {
			r.Kind, r.URL = Click, reasonLine(e.URL)
		}
	case "complained":
		r.Kind, r.Category = Complaint, "abuse"
	case "unsubscribed":
		r.Kind = Unsubscribe
	case "rejected":
		r.Kind, r.Category, r.Reason = Reject, Other, reasonLine(e.Reason)
	default:
		return Report{}, false
	}
	return r, true
}

// mailgunSuppressions are the reasons Mailgun fails a message to an
// address on one of its suppression lists.
var mailgunSuppressions = map[string]Kind{
	"suppress-bounce": Bounce, "suppress-complaint": Complaint, "suppress-unsubscribe": Unsubscribe,
}

// mailgunFailure reads a failed event. A temporary failure is Mailgun
// retrying, a delay, until the last one, reason "old", when it gives up.
// A permanent failure for an address on Mailgun's suppression lists
// repeats the earlier verdict.
func mailgunFailure(r Report, e mailgunEvent) Report {
	r = mailgunStatus(r, e)
	switch {
	case e.Severity != "permanent" && e.Reason == "old":
		r.Kind, r.Severity, r.Category = Bounce, Soft, Expired
	case e.Severity != "permanent":
		r.Kind, r.Category = Delay, orDefault(statusCategory(r.Status), Other)
	case mailgunSuppressions[e.Reason] != "":
		r = repeatVerdict(r, mailgunSuppressions[e.Reason])
	default:
		r.Kind, r.Severity = Bounce, Hard
		r.Category = orDefault(statusCategory(r.Status), Other)
	}
	return r
}

// mailgunStatus copies delivery-status: the SMTP code when it is one
// (Mailgun uses 6xx for its own verdicts), the enhanced status at the
// start of the server's message, and that message as the reason.
func mailgunStatus(r Report, e mailgunEvent) Report {
	d := e.DeliveryStatus
	if code, err := strconv.Atoi(string(d.Code)); err == nil && code >= 200 && code < 600 {
		r.Code = code
	}
	_, r.Status, r.Reason = smtpReply(orDefault(d.Message, d.Description))
	return r
}
