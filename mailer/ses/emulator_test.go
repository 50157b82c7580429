package ses_test

import (
	"context"
	"errors"
	"net/mail"
	"slices"
	"strings"
	"testing"

	"herald/mailer"
	"herald/mailer/ses"
	"herald/mailer/ses/sestest"
)

func TestEmulator(t *testing.T) {
	isolateAWS(t)
	em := sestest.Start(t)
	c := newClient(t, ses.Config{Region: "eu-central-1", AccessKeyID: testKeyID, SecretAccessKey: testSecret, Endpoint: em.URL})
	ctx := context.Background()

	t.Run("deliver", func(t *testing.T) {
		res, err := c.Deliver(ctx, testFrom, testTo, testMessage())
		if err != nil {
			t.Fatalf("Deliver: %v", err)
		}
		if res.ProviderID == "" || !strings.Contains(res.Reply, res.ProviderID) {
			t.Errorf("got %+v, want the emulator's message id as ProviderID and in Reply", res)
		}
		stored := em.Emails(t)
		i := slices.IndexFunc(stored, func(e sestest.Email) bool { return e.MessageID == res.ProviderID })
		if i < 0 {
			t.Fatalf("got no stored email with id %q among %+v", res.ProviderID, stored)
		}
		e := stored[i]
		if e.Subject != "Grüße from Herald" || !strings.Contains(e.From, testFrom) || !slices.ContainsFunc(e.Destination.To, func(to string) bool { return strings.Contains(to, testTo) }) {
			t.Errorf("got subject %q from %q to %q, want %q from %s to %s", e.Subject, e.From, e.Destination.To, "Grüße from Herald", testFrom, testTo)
		}
		if !strings.Contains(e.Body.Text, "the news.") || !strings.Contains(e.Body.HTML, "<p>the news.</p>") {
			t.Errorf("got text %q and HTML %q, want both parts of the multipart message", e.Body.Text, e.Body.HTML)
		}
	})

	t.Run("deliver to several", func(t *testing.T) {
		// The emulator keeps what the raw message's headers say; the
		// destinations SES is given, Bcc included, are TestDeliverToMoreThanSESTakes's.
		msg := mailer.Message{From: mail.Address{Address: testFrom}, To: mail.Address{Address: testTo},
			MoreTo: []mail.Address{{Name: "Ann", Address: "ann@example.net"}}, Cc: []mail.Address{{Address: "cc@example.net"}},
			Subject: "To several", Text: "Hello."}.Bytes()
		res, err := c.DeliverTo(ctx, testFrom, []string{testTo, "ann@example.net", "cc@example.net", "bcc@example.net"}, msg)
		if err != nil || res.ProviderID == "" || len(res.Refused) != 0 {
			t.Fatalf("DeliverTo: got %+v, %v", res, err)
		}
		stored := em.Emails(t)
		i := slices.IndexFunc(stored, func(e sestest.Email) bool { return e.MessageID == res.ProviderID })
		if i < 0 {
			t.Fatalf("got no stored email with id %q", res.ProviderID)
		}
		d := stored[i].Destination
		if all := strings.Join(append(d.To, d.Cc...), " "); !strings.Contains(all, testTo) || !strings.Contains(all, "ann@example.net") ||
			!strings.Contains(strings.Join(d.Cc, " "), "cc@example.net") || strings.Contains(all, "bcc@") {
			t.Errorf("got to %q and cc %q, want the To and Cc headers' recipients and no Bcc", d.To, d.Cc)
		}
	})

	t.Run("refused", func(t *testing.T) {
		// The emulator refuses a raw message without a From header.
		msg := []byte("To: " + testTo + "\r\nSubject: no sender\r\n\r\nHello.\r\n")
		_, err := c.Deliver(ctx, testFrom, testTo, msg)
		var se *mailer.SendError
		if mailer.Classify(err) != mailer.Permanent || !errors.As(err, &se) || se.Code != 554 {
			t.Errorf("got %v, want a permanent 554 SendError", err)
		}
	})

	t.Run("quota", func(t *testing.T) {
		q, err := c.Quota(ctx)
		if err != nil {
			t.Fatalf("Quota: %v", err)
		}
		if want := em.Quota(); q != want {
			t.Errorf("got %+v, want %+v", q, want)
		}
	})
}
