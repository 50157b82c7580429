package web

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"herald/mailer/smtptest"
	"herald/store"
)

// TestProviderWebhooks posts one genuine and one forged event each to the
// Postmark, SendGrid and Mailgun webhooks.
func TestProviderWebhooks(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	campaign, sends := feedbackCampaign(t, h, smtptest.Start(t, smtptest.Options{}), 3, "")
	bg := context.Background()
	if err := h.st.RecordOutcomes(bg, []store.Outcome{{SendID: sends[0], Status: store.SendSent, Code: 250, ProviderID: "pm-0001"},
		{SendID: sends[1], Status: store.SendSent, Code: 250, ProviderID: "sg0001"}}); err != nil {
		t.Fatal(err)
	}
	sgKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&sgKey.PublicKey)
	_, hooks, err := h.st.SaveFeedbackSettings(bg, store.FeedbackSettings{FeedbackKeys: store.FeedbackKeys{SendGridKey: new(base64.StdEncoding.EncodeToString(der)), MailgunKey: new("mg-signing-key")}})
	if err != nil {
		t.Fatal(err)
	}
	status := func(i int) string {
		c, _ := h.st.ContactByEmail(bg, fmt.Sprintf("reader%02d@example.com", i))
		return c.Status
	}

	// Postmark: the token in the URL is the proof.
	pm := []byte(`{"RecordType":"Bounce","ID":42,"Type":"HardBounce","TypeCode":1,"MessageID":"pm-0001","Email":"reader00@example.com",` +
		`"Details":"smtp;550 5.1.1 no such user","BouncedAt":"2026-01-02T10:00:00Z"}`)
	if code, _ := h.postBody("/hooks/postmark/wrong-token", "application/json", pm, nil); code != 404 || status(0) != "active" {
		t.Errorf("postmark with a wrong token: %d, reader00 %q", code, status(0))
	}
	if code, msg := h.postBody("/hooks/postmark/"+hooks.PostmarkToken, "application/json", pm, nil); code != 200 || status(0) != store.StatusBounced {
		t.Errorf("postmark bounce: %d %s, reader00 %q", code, msg, status(0))
	}

	// SendGrid: an ECDSA signature over the timestamp and the body.
	sg := []byte(`[{"email":"reader01@example.com","timestamp":1767348000,"event":"spamreport","sg_event_id":"ev1","sg_message_id":"sg0001.filter1.0"}]`)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	digest := sha256.Sum256(append([]byte(ts), sg...))
	sig, _ := ecdsa.SignASN1(rand.Reader, sgKey, digest[:])
	hdr := map[string]string{"X-Twilio-Email-Event-Webhook-Signature": base64.StdEncoding.EncodeToString(sig), "X-Twilio-Email-Event-Webhook-Timestamp": ts}
	forged := append([]byte(nil), sg...)
	forged[len(forged)-3] = 'X'
	if code, _ := h.postBody("/hooks/sendgrid/"+hooks.SendGridToken, "application/json", forged, hdr); code != 400 || status(1) != "active" {
		t.Errorf("forged sendgrid event: %d, reader01 %q", code, status(1))
	}
	if code, msg := h.postBody("/hooks/sendgrid/"+hooks.SendGridToken, "application/json", sg, hdr); code != 200 || status(1) != store.StatusComplained {
		t.Errorf("sendgrid complaint: %d %s, reader01 %q", code, msg, status(1))
	}

	// Mailgun: an HMAC of timestamp and token with the signing key.
	mg := func(key string) []byte {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		mac := hmac.New(sha256.New, []byte(key))
		mac.Write([]byte(ts + "tok123"))
		return fmt.Appendf(nil, `{"signature":{"timestamp":%q,"token":"tok123","signature":%q},"event-data":{"event":"failed","id":"mg1",`+
			`"timestamp":%s,"severity":"permanent","reason":"bounce","recipient":"reader02@example.com",`+
			`"message":{"headers":{"message-id":%q}},"delivery-status":{"code":550,"message":"5.1.1 no such user"}}}`,
			ts, hex.EncodeToString(mac.Sum(nil)), ts, heraldMessageID(h, campaign, sends[2]))
	}
	if code, _ := h.postBody("/hooks/mailgun/"+hooks.MailgunToken, "application/json", mg("another-key"), nil); code != 400 || status(2) != "active" {
		t.Errorf("forged mailgun event: %d, reader02 %q", code, status(2))
	}
	good := mg("mg-signing-key")
	if code, msg := h.postBody("/hooks/mailgun/"+hooks.MailgunToken, "application/json", good, nil); code != 200 || status(2) != store.StatusBounced {
		t.Errorf("mailgun bounce: %d %s, reader02 %q", code, msg, status(2))
	}
	// Mailgun retrying sends the same body again: taken. The same
	// signature on another body is a replay: refused.
	if code, msg := h.postBody("/hooks/mailgun/"+hooks.MailgunToken, "application/json", good, nil); code != 200 {
		t.Errorf("mailgun retry: %d %s", code, msg)
	}
	replay := bytes.Replace(good, []byte("reader02@example.com"), []byte("reader00@example.com"), 1)
	if code, msg := h.postBody("/hooks/mailgun/"+hooks.MailgunToken, "application/json", replay, nil); code != 400 || !strings.Contains(msg, "another body") {
		t.Errorf("mailgun signature on another body: %d %s, want 400", code, msg)
	}
}
