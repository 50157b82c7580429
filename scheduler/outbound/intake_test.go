package outbound

import (
	"context"
	"fmt"
	"testing"
	"time"

	"herald/mailer/feedback"
	"herald/store"
)

func TestResultKind(t *testing.T) {
	for _, c := range []struct {
		r    feedback.Report
		want string
	}{
		{feedback.Report{Kind: feedback.Bounce, Severity: feedback.Hard}, store.ResultHardBounce},
		{feedback.Report{Kind: feedback.Bounce, Severity: feedback.Soft}, store.ResultSoftBounce},
		{feedback.Report{Kind: feedback.Bounce, Severity: feedback.Undetermined}, store.ResultSoftBounce},
		{feedback.Report{Kind: feedback.Complaint}, store.ResultComplaint},
		{feedback.Report{Kind: feedback.Delivery}, store.ResultDelivered},
		{feedback.Report{Kind: feedback.Delay}, store.ResultDelayed},
		{feedback.Report{Kind: feedback.Reject}, store.ResultRejected},
		{feedback.Report{Kind: feedback.Open}, store.ResultOpen},
		{feedback.Report{Kind: feedback.Click}, store.ResultClick},
		{feedback.Report{Kind: feedback.Unsubscribe}, store.ResultUnsubscribe},
		{feedback.Report{Kind: feedback.AutoReply}, ""},
	} {
		if got := resultKind(c.r); got != c.want {
			t.Errorf("%s/%s: got %q, want %q", c.r.Kind, c.r.Severity, got, c.want)
		}
	}
}

func TestFeedbackKey(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := feedback.Report{Kind: feedback.Bounce, Severity: feedback.Hard, MessageID: "c1.s2@x", Recipient: "a@b.c", At: at}
	if feedbackKey(r, "smtp") != feedbackKey(r, "smtp") {
		t.Fatal("the same report keyed twice differs")
	}
	other := r
	other.Recipient = "d@b.c"
	if feedbackKey(r, "smtp") == feedbackKey(other, "smtp") || feedbackKey(r, "smtp") == feedbackKey(r, "pop3") {
		t.Error("different reports share a key")
	}
	r.EventID = "ev-1"
	if got := feedbackKey(r, "ses"); got != "ses:ev-1" {
		t.Errorf("key with an event id: %q", got)
	}
}

func TestHeraldMessageIDs(t *testing.T) {
	if c, s, tag, ok := campaignMessageID("<c12.s345.abcdefgh12@news.example.com>"); !ok || c != 12 || s != 345 || tag != "abcdefgh12" {
		t.Errorf("campaign Message-ID: %d %d %q %v", c, s, tag, ok)
	}
	if id, created, tag, ok := transactionalMessageID("m77.1767312000.abcdefgh12@example.com"); !ok || id != 77 || created != 1767312000 || tag != "abcdefgh12" {
		t.Errorf("transactional Message-ID: %d %d %q %v", id, created, tag, ok)
	}
	for _, id := range []string{"", "c1.s@x", "c1.s2@x", "xc1.s2.abcdefgh12@x", "m1@x", "m1.2@x", "c99999999999999999999.s1.abcdefgh12@x", "883953f4-6105-42a2"} {
		if _, _, _, ok := campaignMessageID(id); ok {
			t.Errorf("%q taken as a campaign Message-ID", id)
		}
		if _, _, _, ok := transactionalMessageID(id); ok {
			t.Errorf("%q taken as a transactional Message-ID", id)
		}
	}
}

func TestAddressToken(t *testing.T) {
	for addr, want := range map[string][2]string{
		"bounces+abc@x.test":     {"bounces", "abc"},
		"<BOUNCES+ABC@x.test>":   {"bounces", "ABC"},
		"Unsubscribe+def@x.test": {"unsubscribe", "def"},
		"unsubscribe@x.test":     {"", ""},
		"bounces@x.test":         {"", ""},
		"someone+bounces@x.test": {"", ""},
		"unsubscribe+":           {"", ""},
	} {
		if l, tok := addressToken(addr); l != want[0] || tok != want[1] {
			t.Errorf("addressToken(%q) = %q, %q; want %q", addr, l, tok, want)
		}
	}
}

// TestReportOnARecipientBeyondTheFirst takes an SES bounce for a message's
// Cc recipient whose SES id Herald never stored (the message went to SES
// in two calls): it finds the message by the original Message-ID and
// bounces that recipient, not the first To.
func TestReportOnARecipientBeyondTheFirst(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	s := newService(t, st)
	ctx := context.Background()
	var contacts []store.Contact
	for _, email := range []string{"ann@example.com", "cy@example.com"} {
		c, _, err := st.CreateContact(ctx, store.ContactInput{Email: &email, Source: "test"}, false)
		if err != nil {
			t.Fatal(err)
		}
		contacts = append(contacts, c)
	}
	m := queueMessage(t, st, "ann@example.com", func(in *store.NewMessage) {
		in.Recipients.Cc = []store.Address{{Email: "cy@example.com"}}
	})
	header := fmt.Sprintf("m%d.%d.%s@shop.example", m.ID, m.CreatedAt.Unix(), s.tracker.MessageTag(m.ID, m.CreatedAt.Unix()))
	n, err := s.TakeReports(ctx, []feedback.Report{{Kind: feedback.Bounce, Severity: feedback.Hard, Recipient: "cy@example.com",
		MessageID: "0100018f-second-call", HeaderID: header, EventID: "e1", Provider: "ses"}}, "ses")
	if err != nil || n != 1 {
		t.Fatalf("took %d, %v; want 1", n, err)
	}
	ann, _ := st.Contact(ctx, contacts[0].ID)
	cy, _ := st.Contact(ctx, contacts[1].ID)
	if ann.Status != store.StatusActive || cy.Status != store.StatusBounced {
		t.Errorf("got ann %s and cy %s, want active and bounced", ann.Status, cy.Status)
	}
	// A forged Message-ID, without Herald's tag, matches nothing.
	if n, err := s.TakeReports(ctx, []feedback.Report{{Kind: feedback.Complaint, Recipient: "ann@example.com", MessageID: "x",
		HeaderID: fmt.Sprintf("m%d.%d.forgedtag1@shop.example", m.ID, m.CreatedAt.Unix()), EventID: "e2"}}, "ses"); err != nil || n != 0 {
		t.Errorf("forged: took %d, %v; want none", n, err)
	}
}
