package feedback

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// dsn builds a delivery status notification with the given per-recipient
// blocks and a copy of the original header.
func dsn(blocks ...string) []byte {
	return []byte("From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\n" +
		"To: bounces+abc@herald.example\n" +
		"Subject: Undelivered Mail Returned to Sender\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n" +
		"--B\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n" +
		"--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n" +
		strings.Join(blocks, "\n\n") + "\n\n" +
		"--B\nContent-Type: text/rfc822-headers\n\n" +
		"From: news@herald.example\nTo: someone@example.com\nMessage-ID: <send-42@herald.example>\n\n" +
		"--B--\n")
}

func TestParseMailDSN(t *testing.T) {
	tests := []struct {
		name  string
		raw   []byte
		want  []Report
		count int
	}{
		{"user unknown", dsn("Final-Recipient: rfc822; alias@mx.example.org\nOriginal-Recipient: rfc822;Kim@Example.COM\n" +
			"Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 <kim@example.com>:\n    Recipient address rejected: User unknown"),
			[]Report{{Kind: Bounce, Severity: Hard, Category: UserUnknown, Status: "5.1.1", Code: 550,
				Reason:    "550 5.1.1 <kim@example.com>: Recipient address rejected: User unknown",
				Recipient: "kim@example.com", MessageID: "send-42@herald.example", Provider: "dsn"}}, 1},
		{"mailbox full is soft even on 5xx", dsn("Final-Recipient: rfc822; kim@example.com\nAction: failed\nStatus: 5.2.2\n" +
			"Diagnostic-Code: smtp; 552 5.2.2 Mailbox full"),
			[]Report{{Kind: Bounce, Severity: Soft, Category: MailboxFull, Status: "5.2.2", Code: 552, Reason: "552 5.2.2 Mailbox full",
				Recipient: "kim@example.com", MessageID: "send-42@herald.example", Provider: "dsn"}}, 1},
		{"delayed", dsn("Final-Recipient: rfc822; kim@example.com\nAction: delayed\nStatus: 4.4.1\n" +
			"Diagnostic-Code: smtp; 421 4.4.1 Connection timed out"),
			[]Report{{Kind: Delay, Severity: Soft, Category: Expired, Status: "4.4.1", Code: 421, Reason: "421 4.4.1 Connection timed out",
				Recipient: "kim@example.com", MessageID: "send-42@herald.example", Provider: "dsn"}}, 1},
		{"status code only", dsn("Final-Recipient: rfc822; kim@example.com\nAction: failed\nStatus: 5.1.2"),
			[]Report{{Kind: Bounce, Severity: Hard, Category: DomainNotFound, Status: "5.1.2",
				Recipient: "kim@example.com", MessageID: "send-42@herald.example", Provider: "dsn"}}, 1},
		{"delivered", dsn("Final-Recipient: rfc822; kim@example.com\nAction: delivered\nStatus: 2.0.0"),
			[]Report{{Kind: Delivery, Status: "2.0.0", Recipient: "kim@example.com", MessageID: "send-42@herald.example", Provider: "dsn"}}, 1},
		{"two recipients", dsn("Final-Recipient: rfc822; a@example.com\nAction: failed\nStatus: 5.1.1",
			"Final-Recipient: rfc822; b@example.com\nAction: failed\nStatus: 5.1.1"), nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMail(tt.raw)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if len(got) != tt.count {
				t.Fatalf("got %d reports %+v, want %d", len(got), got, tt.count)
			}
			for i, w := range tt.want {
				if got[i] != w {
					t.Errorf("got %+v, want %+v", got[i], w)
				}
			}
		})
	}
}

// arf builds a feedback report with the given report fields and a copy of
// the original message.
func arf(fields string) []byte {
	return []byte("From: feedback@isp.example\nTo: abuse@herald.example\nSubject: FW: news\n" +
		"Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\n\n" +
		"--F\nContent-Type: text/plain\n\nThis is an abuse report.\n\n" +
		"--F\nContent-Type: message/feedback-report\n\n" + fields + "\n\n" +
		"--F\nContent-Type: message/rfc822\n\n" +
		"From: news@herald.example\nTo: Kim <Kim@Example.com>\nMessage-ID: <send-7@herald.example>\n\nHello\n" +
		"--F--\n")
}

func TestParseMailARF(t *testing.T) {
	tests := []struct {
		name, fields, category, recipient string
	}{
		{"abuse with rcpt", "Feedback-Type: abuse\nUser-Agent: x/1\nVersion: 1\nOriginal-Rcpt-To: <lee@example.com>", "abuse", "lee@example.com"},
		{"recipient from the copy", "Feedback-Type: fraud\nVersion: 1", "fraud", "kim@example.com"},
		{"not spam", "Feedback-Type: not-spam\nVersion: 1", "not-spam", "kim@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMail(arf(tt.fields))
			if err != nil || len(got) != 1 {
				t.Fatalf("got %+v, %v, want one report", got, err)
			}
			want := Report{Kind: Complaint, Category: tt.category, Recipient: tt.recipient, MessageID: "send-7@herald.example", Provider: "arf"}
			if got[0] != want {
				t.Errorf("got %+v, want %+v", got[0], want)
			}
		})
	}
}

// textBounce builds a bounce in a mail server's own words, qmail-like.
func textBounce(diagnostic string) []byte {
	return []byte("From: MAILER-DAEMON@mx.example.org\nTo: bounces+abc@herald.example\nSubject: failure notice\n\n" +
		"Hi. This is the qmail-send program at mx.example.org.\n" +
		"I'm afraid I wasn't able to deliver your message to the following addresses.\n\n" +
		"<Kim@example.com>:\n" + diagnostic + "\n\n" +
		"--- Below this line is a copy of the message.\n\n" +
		"Return-Path: <bounces+abc@herald.example>\nFrom: news@herald.example\nTo: kim@example.com\n" +
		"Message-ID: <send-9@herald.example>\n\nHello\n")
}

func TestParseMailHeuristics(t *testing.T) {
	tests := []struct {
		diagnostic string
		severity   Severity
		category   string
		status     string
		code       int
	}{
		{"Remote host said: 552 5.2.2 Mailbox full", Soft, MailboxFull, "5.2.2", 552},
		{"Remote host said: 452 user is over quota", Soft, MailboxFull, "", 452},
		{"Remote host said: 550 No such user here", Hard, UserUnknown, "", 550},
		{"Sorry, no mailbox here by that name. (#5.1.1)", Hard, UserUnknown, "5.1.1", 0},
		{"Recipient not found", Hard, UserUnknown, "", 0},
		{"Sorry, I couldn't find any host named example.com. (#5.1.2)", Hard, DomainNotFound, "5.1.2", 0},
		{"Host not found", Hard, DomainNotFound, "", 0},
		{"Remote host said: 554 5.7.1 Service unavailable; client host blocked using zen.spamhaus.org", Soft, SpamBlocked, "5.7.1", 554},
		{"Remote host said: 550 5.7.26 rejected by DMARC policy", Soft, Policy, "5.7.26", 550},
		{"Remote host said: 552 5.3.4 Message too large", Soft, TooLarge, "5.3.4", 552},
		{"Connection timed out, retry time exceeded", Soft, Expired, "", 0},
		{"Remote host said: 421 4.7.0 Too many connections, try again later", Soft, RateLimited, "4.7.0", 421},
		{"Remote host said: 554 5.6.0 Virus found in message", Soft, ContentRejected, "5.6.0", 554},
		{"Remote host said: 550 5.2.1 Account disabled", Hard, MailboxDisabled, "5.2.1", 550},
		{"Remote host said: 554 Transaction failed", Hard, Other, "", 554},
		{"Something happened.", Undetermined, Other, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.diagnostic, func(t *testing.T) {
			got, err := ParseMail(textBounce(tt.diagnostic))
			if err != nil || len(got) != 1 {
				t.Fatalf("got %+v, %v, want one report", got, err)
			}
			r := got[0]
			if r.Kind != Bounce || r.Severity != tt.severity || r.Category != tt.category || r.Status != tt.status || r.Code != tt.code {
				t.Errorf("got %s %s %s %q %d, want bounce %s %s %q %d", r.Kind, r.Severity, r.Category, r.Status, r.Code,
					tt.severity, tt.category, tt.status, tt.code)
			}
			if r.Recipient != "kim@example.com" || r.MessageID != "send-9@herald.example" || r.Provider != "dsn" {
				t.Errorf("got recipient %q, id %q, provider %q", r.Recipient, r.MessageID, r.Provider)
			}
		})
	}
}

func TestParseMailFailedRecipientsHeader(t *testing.T) {
	raw := "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\nTo: bounces+abc@herald.example\n" +
		"Subject: Mail delivery failed: returning message to sender\nX-Failed-Recipients: A@example.com, b@example.com\n" +
		"Auto-Submitted: auto-replied\n\r\n" +
		"This message was created automatically by mail delivery software.\r\n\r\n" +
		"  a@example.com\r\n    SMTP error from remote mail server after RCPT TO:<a@example.com>:\r\n" +
		"    550 5.1.1 User unknown\r\n"
	got, err := ParseMail([]byte(raw))
	if err != nil || len(got) != 2 {
		t.Fatalf("got %+v, %v, want two reports", got, err)
	}
	if got[0].Recipient != "a@example.com" || got[1].Recipient != "b@example.com" || got[0].Kind != Bounce || got[0].Severity != Hard {
		t.Errorf("got %+v, want hard bounces for a@ and b@", got)
	}
}

func TestParseMailAutoReply(t *testing.T) {
	tests := []struct{ name, header string }{
		{"auto-submitted", "Auto-Submitted: auto-replied\nSubject: Re: news"},
		{"x-autoreply", "X-Autoreply: yes\nSubject: Re: news"},
		{"precedence", "Precedence: auto_reply\nSubject: Re: news"},
		{"subject", "Subject: Out of Office: back on Monday"},
		{"encoded subject", "Subject: =?utf-8?q?R=C3=A9ponse_automatique_:_news?="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := "From: Kim <Kim@example.com>\nTo: news@herald.example\nIn-Reply-To: <send-3@herald.example>\n" +
				tt.header + "\n\nI am away until Monday.\n"
			got, err := ParseMail([]byte(raw))
			if err != nil || len(got) != 1 {
				t.Fatalf("got %+v, %v, want one report", got, err)
			}
			if r := got[0]; r.Kind != AutoReply || r.Recipient != "kim@example.com" || r.MessageID != "send-3@herald.example" {
				t.Errorf("got %+v, want an auto-reply from kim@example.com about send-3", r)
			}
		})
	}
}

func TestParseMailNotReport(t *testing.T) {
	tests := []struct{ name, raw string }{
		{"person", "From: kim@example.com\nTo: news@herald.example\nSubject: Re: news\n\nThe user unknown to me liked it.\n"},
		{"unsubscribe", "From: kim@example.com\nTo: unsubscribe+x@herald.example\nSubject: unsubscribe\nAuto-Submitted: auto-replied\n\nunsubscribe\n"},
		{"empty", ""},
		{"no header", "just some text\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMail([]byte(tt.raw))
			if !errors.Is(err, ErrNotReport) {
				t.Errorf("got %+v, %v, want ErrNotReport", got, err)
			}
		})
	}
}

func TestParseMailBounds(t *testing.T) {
	if _, err := ParseMail(make([]byte, MaxMail+1)); !errors.Is(err, ErrMailTooLarge) {
		t.Errorf("got %v, want ErrMailTooLarge", err)
	}
	blocks := make([]string, 3000)
	for i := range blocks {
		blocks[i] = fmt.Sprintf("Final-Recipient: rfc822; u%d@example.com\nAction: failed\nStatus: 5.1.1", i)
	}
	got, err := ParseMail(dsn(blocks...))
	if err != nil || len(got) != maxRecipients {
		t.Errorf("got %d reports, %v, want %d", len(got), err, maxRecipients)
	}
	long := dsn("Final-Recipient: rfc822; kim@example.com\nAction: failed\nStatus: 5.0.0\nDiagnostic-Code: smtp; 550 " +
		strings.Repeat("é", MaxReason))
	if got, err := ParseMail(long); err != nil || len(got[0].Reason) > MaxReason {
		t.Errorf("got %+v, %v, want a reason of at most %d bytes", got, err, MaxReason)
	}
	var nested strings.Builder
	nested.WriteString("From: MAILER-DAEMON@x\n")
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&nested, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i)
	}
	if _, err := ParseMail([]byte(nested.String())); err != nil && !errors.Is(err, ErrNotReport) {
		t.Errorf("got %v on deep nesting", err)
	}
}

func TestVERPToken(t *testing.T) {
	tests := []struct {
		address, token string
		ok             bool
	}{
		{"bounces+abc123@herald.example", "abc123", true},
		{"<BOUNCES+AbC@herald.example>", "AbC", true},
		{"bounces+a+b@herald.example", "a+b", true},
		{"bounces@herald.example", "", false},
		{"bounces+@herald.example", "", false},
		{"news+abc@herald.example", "", false},
		{"bounces+abc", "", false},
		{"bounces+" + strings.Repeat("x", 201) + "@herald.example", "", false},
		{"bounces+" + strings.Repeat("x", 200) + "@herald.example", strings.Repeat("x", 200), true},
	}
	for _, tt := range tests {
		token, ok := VERPToken(tt.address)
		if token != tt.token || ok != tt.ok {
			t.Errorf("VERPToken(%q) = %q, %v, want %q, %v", tt.address, token, ok, tt.token, tt.ok)
		}
	}
}
