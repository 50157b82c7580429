package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"herald/mailer/smtptest"
	"herald/scheduler/inbound"
	"herald/store"
)

// listenInbound runs an SMTP listener on loopback that hands every message
// to the harness's feedback intake, as `herald serve --smtp-addr` does.
func listenInbound(t *testing.T, h *harness) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := inbound.NewListener(ln, h.srv.out.TakeMail, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, l)
	return ln.Addr().String()
}

// deliverMail sends one message over SMTP with a null return path.
func deliverMail(t *testing.T, addr, to, body string) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(to, nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, strings.ReplaceAll(body, "\n", "\r\n"))
	if err := w.Close(); err != nil {
		t.Fatalf("the listener refused the message: %v", err)
	}
}

// dsn is a Postfix delivery status notification for rcpt that quotes no
// part of the returned message: only its return path says which it was.
const dsn = `From: MAILER-DAEMON@mx.example.com (Mail Delivery System)
To: %s
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"
Message-Id: <20260102.1@mx.example.com>

--BOUNDARY
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not be delivered.

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: rfc822; %s
Original-Recipient: rfc822;%s
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <%s>: Recipient address rejected: User unknown

--BOUNDARY--
`

var verpAddress = regexp.MustCompile(`^bounces\+([a-z2-7]+)@bounce\.bakery\.test$`)

// TestVERPBounceByMail sends a campaign with a bounce domain, checks each
// message's return path and mailto unsubscribe address, and returns a
// bounce and an unsubscribe request to Herald's SMTP listener.
func TestVERPBounceByMail(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sink := smtptest.Start(t, smtptest.Options{})
	campaign, _ := feedbackCampaign(t, h, sink, 2, "bounce.bakery.test")
	addr := listenInbound(t, h)
	bg := context.Background()

	byRcpt := map[string]smtptest.Message{}
	for _, m := range sink.Messages() {
		byRcpt[m.To[0]] = m
		if !verpAddress.MatchString(m.From) {
			t.Fatalf("MAIL FROM %q is not a VERP return path", m.From)
		}
		parsed, _ := mail.ReadMessage(strings.NewReader(string(m.Data)))
		if lu := parsed.Header.Get("List-Unsubscribe"); !strings.Contains(lu, "<mailto:unsubscribe+") || !strings.Contains(lu, "@bounce.bakery.test?") {
			t.Errorf("List-Unsubscribe %q has no mailto at the bounce domain", lu)
		}
	}
	// A mail server may lower-case or upper-case the local part: the token survives.
	bounced := byRcpt["reader00@example.com"].From
	deliverMail(t, addr, strings.ToUpper(bounced), fmt.Sprintf(dsn, bounced, "reader00@example.com", "reader00@example.com", "reader00@example.com"))
	c, _ := h.st.ContactByEmail(bg, "reader00@example.com")
	if c.Status != store.StatusBounced {
		t.Errorf("reader00 is %q after a hard bounce by mail", c.Status)
	}
	if _, ok, _ := h.st.Suppressed(bg, "reader00@example.com"); !ok {
		t.Error("reader00 is not suppressed")
	}
	if n, _ := h.st.CampaignCounts(bg, campaign); n.HardBounces != 1 {
		t.Errorf("%d hard bounces counted, want 1", n.HardBounces)
	}

	// A mailto unsubscribe (RFC 8058) from reader01.
	m01, _ := mail.ReadMessage(strings.NewReader(string(byRcpt["reader01@example.com"].Data)))
	unsub := regexp.MustCompile(`mailto:([^?>]+)`).FindStringSubmatch(m01.Header.Get("List-Unsubscribe"))[1]
	deliverMail(t, addr, unsub, "From: reader01@example.com\nTo: "+unsub+"\nSubject: unsubscribe\n\nunsubscribe\n")
	if c, _ := h.st.ContactByEmail(bg, "reader01@example.com"); c.Status != "unsubscribed" {
		t.Errorf("reader01 is %q after a mailto unsubscribe", c.Status)
	}
	if n, _ := h.st.CampaignCounts(bg, campaign); n.Unsubscribes != 1 {
		t.Errorf("%d unsubscribes counted, want 1", n.Unsubscribes)
	}
}
