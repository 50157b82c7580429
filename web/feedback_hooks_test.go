package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"herald/mailer/feedback/snstest"
	"herald/mailer/smtptest"
	"herald/store"
)

// feedbackCampaign sends a campaign to n readers through a loopback relay,
// with bounceDomain in Settings → General, and returns its id and, per
// reader, the send id.
func feedbackCampaign(t *testing.T, h *harness, sink *smtptest.Server, n int, bounceDomain string) (int64, []int64) {
	t.Helper()
	bg := context.Background()
	runWorker(t, h.srv.out.Dispatcher())
	h.readyToSend(sink, 2, "UTC")
	if bounceDomain != "" {
		g, _ := h.st.General(bg)
		g.BounceDomain = bounceDomain
		if _, err := h.st.SaveGeneral(bg, g); err != nil {
			t.Fatal(err)
		}
	}
	news, _ := h.st.CreateList(bg, store.ListInput{Name: new("News"), Visibility: new(store.VisibilityPublic)})
	var contacts []int64
	for i := range n {
		e := fmt.Sprintf("reader%02d@example.com", i)
		c, _, err := h.st.CreateContact(bg, store.ContactInput{Email: &e, Lists: []int64{news.ID}, Source: "test"}, false)
		if err != nil {
			t.Fatal(err)
		}
		contacts = append(contacts, c.ID)
	}
	c, err := h.st.CreateCampaign(bg, store.CampaignInput{Name: new("Spring"), Subject: new("Spring bread"), Format: new("html"),
		Body: new(`<p>Fresh bread</p>`), ListIDs: &[]int64{news.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.srv.out.Send(bg, c.ID); err != nil {
		t.Fatal(err)
	}
	sink.Wait(n, 20*time.Second)
	var sends []int64
	for _, id := range contacts {
		deadline := time.Now().Add(10 * time.Second)
		for {
			send, err := h.st.SendOf(bg, c.ID, id)
			ss, _, _ := h.st.ContactSends(bg, id, store.Newest, 1, 0)
			if err == nil && len(ss) == 1 && ss[0].Status == store.SendSent {
				sends = append(sends, send)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("send of contact %d not recorded: %v", id, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return c.ID, sends
}

// sesRelay adds a disabled SES relay and returns its notification path,
// checking that the relay's page shows the full address.
func sesRelay(t *testing.T, h *harness) string {
	t.Helper()
	r, err := h.st.CreateRelay(context.Background(), store.RelayInput{Name: "SES", Kind: "ses", Region: "us-east-1", MaxConnections: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.FeedbackToken) < 20 {
		t.Fatalf("relay feedback token %q", r.FeedbackToken)
	}
	h.signIn()
	path := "/hooks/ses/" + r.FeedbackToken
	if page := body(t, h.get(fmt.Sprintf("/settings/relays/%d", r.ID))); !strings.Contains(page, "https://news.bakery.test"+path) {
		t.Errorf("the relay's page does not show its notification address %s", path)
	}
	return path
}

func (h *harness) postBody(path, contentType string, body []byte, hdr map[string]string) (int, string) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.ts.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// sesEvent is an SES notification about messageID for rcpt.
func sesEvent(kind, messageID, rcpt string) string {
	mail := fmt.Sprintf(`"mail":{"timestamp":"2026-01-02T10:00:00.000Z","messageId":%q,"destination":[%q]}`, messageID, rcpt)
	switch kind {
	case "Bounce":
		return fmt.Sprintf(`{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General",`+
			`"bouncedRecipients":[{"emailAddress":%q,"action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"}],`+
			`"timestamp":"2026-01-02T10:00:01.000Z","feedbackId":"fb-%s"},%s}`, rcpt, messageID, mail)
	case "Complaint":
		return fmt.Sprintf(`{"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":%q}],`+
			`"timestamp":"2026-01-02T10:00:01.000Z","feedbackId":"fc-%s","complaintFeedbackType":"abuse"},%s}`, rcpt, messageID, mail)
	}
	return fmt.Sprintf(`{"notificationType":"Delivery","delivery":{"timestamp":"2026-01-02T10:00:01.000Z","recipients":[%q],`+
		`"smtpResponse":"250 ok"},%s}`, rcpt, mail)
}

// TestSESNotifications posts SES notifications signed as SNS signs them
// to a relay's notification URL and checks what they change.
func TestSESNotifications(t *testing.T) {
	t.Parallel()
	sns := snstest.Start(t, false)
	h := newHarness(t, func(c *harnessConfig) { c.Out.SNSAllowURL = sns.Allow })
	campaign, sends := feedbackCampaign(t, h, smtptest.Start(t, smtptest.Options{}), 3, "")
	path := sesRelay(t, h)
	bg := context.Background()
	// SES names its messages by its own id: reader00's send got one.
	if err := h.st.RecordOutcomes(bg, []store.Outcome{{SendID: sends[0], Status: store.SendSent, Code: 250, ProviderID: "ses-0001"}}); err != nil {
		t.Fatal(err)
	}
	post := func(body []byte) (int, string) { return h.postBody(path, "text/plain; charset=UTF-8", body, nil) }

	if code, msg := post(sns.Sign(t, "SubscriptionConfirmation", "2", map[string]string{"TopicArn": "arn:aws:sns:us-east-1:123456789012:herald"})); code != 200 || sns.Confirmed.Load() != 1 {
		t.Fatalf("subscription confirmation: %d %s, confirmed %d", code, msg, sns.Confirmed.Load())
	}
	bounce := snsNotification(t, sns, "1", sesEvent("Bounce", "ses-0001", "reader00@example.com"), "")
	for range 2 { // delivered twice, counted once
		if code, msg := post(bounce); code != 200 {
			t.Fatalf("bounce: %d %s", code, msg)
		}
	}
	// By the Message-ID Herald gave it, with signature version 2.
	mid := heraldMessageID(h, campaign, sends[1])
	if code, msg := post(snsNotification(t, sns, "2", sesEvent("Complaint", mid, "reader01@example.com"), "")); code != 200 {
		t.Fatalf("complaint: %d %s", code, msg)
	}
	delivery := snsNotification(t, sns, "2", sesEvent("Delivery", heraldMessageID(h, campaign, sends[2]), "reader02@example.com"), "dup-1")
	for range 2 {
		if code, msg := post(delivery); code != 200 {
			t.Fatalf("delivery: %d %s", code, msg)
		}
	}

	for i, want := range []string{store.StatusBounced, store.StatusComplained, "active"} {
		c, _ := h.st.ContactByEmail(bg, fmt.Sprintf("reader%02d@example.com", i))
		if c.Status != want {
			t.Errorf("reader%02d is %q, want %q", i, c.Status, want)
		}
	}
	for _, e := range []string{"reader00@example.com", "reader01@example.com"} {
		if _, ok, _ := h.st.Suppressed(bg, e); !ok {
			t.Errorf("%s is not suppressed", e)
		}
	}
	n, _ := h.st.CampaignCounts(bg, campaign)
	if n.HardBounces != 1 || n.Complaints != 1 || n.Delivered != 1 {
		t.Errorf("counts: %d hard bounces, %d complaints, %d delivered; want 1 each", n.HardBounces, n.Complaints, n.Delivered)
	}

	// Tampered: the message changed after signing. Nothing is stored.
	forged := bytes.Replace(snsNotification(t, sns, "2", sesEvent("Bounce", heraldMessageID(h, campaign, sends[2]), "reader02@example.com"), ""),
		[]byte("Permanent"), []byte("Transient"), 1)
	if code, msg := post(forged); code != 400 || !strings.Contains(msg, "signature") {
		t.Errorf("tampered notification: %d %s", code, msg)
	}
	if c, _ := h.st.ContactByEmail(bg, "reader02@example.com"); c.Status != "active" {
		t.Errorf("a tampered notification changed reader02 to %q", c.Status)
	}
	if n2, _ := h.st.CampaignCounts(bg, campaign); n2 != n {
		t.Errorf("a tampered notification changed the counts: %+v", n2)
	}
	// A Message-ID made up from the pattern, without Herald's tag, names
	// nothing: nobody can bounce a send they never saw.
	for _, mid := range []string{fmt.Sprintf("c%d.s%d@bakery.test", campaign, sends[2]),
		fmt.Sprintf("c%d.s%d.%s@bakery.test", campaign, sends[2], h.srv.out.Tracker().MessageTag(campaign, sends[1]))} {
		if code, msg := post(snsNotification(t, sns, "2", sesEvent("Bounce", mid, "reader02@example.com"), "")); code != 200 {
			t.Fatalf("bounce on a made-up Message-ID: %d %s", code, msg)
		}
	}
	if c, _ := h.st.ContactByEmail(bg, "reader02@example.com"); c.Status != "active" {
		t.Errorf("a made-up Message-ID bounced reader02: %q", c.Status)
	}
	// Another topic, signed by SNS all the same, is refused: the address
	// took the first topic it confirmed.
	other := sns.Sign(t, "Notification", "2", map[string]string{"Message": sesEvent("Bounce", heraldMessageID(h, campaign, sends[2]), "reader02@example.com"),
		"TopicArn": "arn:aws:sns:us-west-2:999999999999:SomeoneElse"})
	if code, msg := post(other); code != 400 || !strings.Contains(msg, "topic") {
		t.Errorf("another topic: %d %s", code, msg)
	}
	// The signing certificate cannot be fetched: not the message's fault, so
	// an error status that makes SNS try again, and nothing stored.
	unfetchable := sns.Sign(t, "Notification", "2", map[string]string{"Message": sesEvent("Bounce", heraldMessageID(h, campaign, sends[2]), "reader02@example.com"),
		"SigningCertURL": sns.Srv.URL + "/gone.pem"})
	if code, msg := post(unfetchable); code < 500 || strings.Contains(msg, "gone.pem") {
		t.Errorf("certificate not fetched: %d %q, want a 5xx that does not say why", code, msg)
	}
	if c, _ := h.st.ContactByEmail(bg, "reader02@example.com"); c.Status != "active" {
		t.Errorf("an unverified notification bounced reader02: %q", c.Status)
	}
	if code, _ := h.postBody("/hooks/ses/nosuchtoken", "text/plain", bounce, nil); code != 404 {
		t.Errorf("unknown token: %d, want 404", code)
	}
}

// heraldMessageID is the Message-ID Herald gives a campaign's send.
func heraldMessageID(h *harness, campaign, send int64) string {
	return fmt.Sprintf("c%d.s%d.%s@bakery.test", campaign, send, h.srv.out.Tracker().MessageTag(campaign, send))
}
