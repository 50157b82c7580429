package feedback

import (
	"strings"
	"testing"
)

func TestParseSES(t *testing.T) {
	const evMsg = "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000"
	cases := []struct {
		file string
		want []Report
	}{
		{"bounce-dsn.json", []Report{{
			Kind: Bounce, Severity: Hard, Category: UserUnknown, Status: "5.1.1", Code: 550,
			Reason: "550 5.1.1 <jane@example.com>... User", Recipient: "jane@example.com",
			MessageID: "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000", HeaderID: "custom-message-ID",
			EventID: "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000000/jane@example.com",
			At:      at("2016-01-27T14:59:38.237Z"), Provider: "ses",
		}}},
		{"bounce-no-dsn.json", []Report{
			{Kind: Bounce, Severity: Hard, Category: Other, Recipient: "jane@example.com",
				MessageID: "00000137860315fd-34208509-5b74-41f3-95c5-22c1edc3c924-000000",
				EventID:   "00000137860315fd-869464a4-8680-4114-98d3-716fe35851f9-000000/jane@example.com",
				At:        at("2016-01-27T14:59:38.237Z"), Provider: "ses"},
			{Kind: Bounce, Severity: Hard, Category: Other, Recipient: "richard@example.com",
				MessageID: "00000137860315fd-34208509-5b74-41f3-95c5-22c1edc3c924-000000",
				EventID:   "00000137860315fd-869464a4-8680-4114-98d3-716fe35851f9-000000/richard@example.com",
				At:        at("2016-01-27T14:59:38.237Z"), Provider: "ses"},
		}},
		{"bounce-transient-mailboxfull.json", []Report{{
			Kind: Bounce, Severity: Soft, Category: MailboxFull, Status: "4.2.2", Code: 452,
			Reason:    "452 4.2.2 The email account that you tried to reach is over quota",
			Recipient: "mary@example.com", MessageID: "0000013786031aaa-163e3910-53eb-4c8e-a04a-f29debf88a84-000000",
			EventID: "0000013786031aaa-fea503bc-7497-49e1-881b-a0379bb037d3-000000/mary@example.com",
			At:      at("2016-01-27T15:02:11Z"), Provider: "ses",
		}}},
		{"bounce-suppressed.json", []Report{{
			Kind: Bounce, Severity: Hard, Category: Suppressed, Status: "5.1.1",
			Reason:    "Amazon SES did not send the message to this address because it is on the suppression list for your account.",
			Recipient: "gone@example.com", MessageID: "01000172bc5a1c9a-3b6f4e2d-8f1a-4d3c-9b2e-7a1f0e6d5c4b-000000",
			EventID: "01000172bc5a1d0e-2b0f8e1a-1c8d-4f1a-9a5e-5c3c0d8e0f11-000000/gone@example.com",
			At:      at("2020-06-16T00:15:41Z"), Provider: "ses",
		}}},
		{"complaint-feedback.json", []Report{{
			Kind: Complaint, Category: "abuse", Recipient: "richard@example.com",
			MessageID: "000001378603177f-7a5433e7-8edb-42ae-af10-f0181f34d6ee-000000",
			EventID:   "000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000/richard@example.com",
			At:        at("2016-01-27T14:59:38.237Z"), Provider: "ses",
		}}},
		{"complaint-no-feedback.json", []Report{{
			Kind: Complaint, Recipient: "richard@example.com",
			MessageID: "0000013786031775-163e3910-53eb-4c8e-a04a-f29debf88a84-000000",
			EventID:   "0000013786031775-fea503bc-7497-49e1-881b-a0379bb037d3-000000/richard@example.com",
			At:        at("2016-01-27T14:59:38.237Z"), Provider: "ses",
		}}},
		{"delivery.json", []Report{{
			Kind: Delivery, Code: 250, Reason: "250 ok: Message 64111812 accepted", Recipient: "jane@example.com",
			MessageID: "0000014644fe5ef6-9a483358-9170-4cb4-a269-f5dcdf415321-000000",
			At:        at("2016-01-27T14:59:38.237Z"), Provider: "ses",
		}}},
		{"event-bounce.json", []Report{{
			Kind: Bounce, Severity: Hard, Category: UserUnknown, Status: "5.1.1", Code: 550,
			Reason: "550 5.1.1 user unknown", Recipient: "recipient@example.com", MessageID: evMsg,
			EventID: "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000/recipient@example.com",
			At:      at("2017-08-05T00:41:02.669Z"), Provider: "ses",
		}}},
		{"event-complaint.json", []Report{{
			Kind: Complaint, Category: "abuse", Recipient: "recipient@example.com", MessageID: evMsg,
			EventID: "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000/recipient@example.com",
			At:      at("2017-08-05T00:41:02.669Z"), Provider: "ses",
		}}},
		{"event-delivery.json", []Report{{
			Kind: Delivery, Code: 250, Status: "2.6.0", Reason: "250 2.6.0 Message received",
			Recipient: "recipient@example.com", MessageID: evMsg, At: at("2016-10-19T23:21:04.133Z"), Provider: "ses",
		}}},
		{"event-send.json", nil},
		{"event-rendering-failure.json", nil},
		{"event-reject.json", []Report{{
			Kind: Reject, Category: ContentRejected, Reason: "Bad content", Recipient: "recipient@example.com",
			MessageID: evMsg, At: at("2016-10-14T17:38:15.211Z"), Provider: "ses",
		}}},
		{"event-open.json", []Report{{
			Kind: Open, Recipient: "recipient@example.com", MessageID: evMsg, HeaderID: evMsg, At: at("2017-08-09T22:00:19.652Z"),
			UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 10_3_3 like Mac OS X) AppleWebKit/603.3.8 (KHTML, like Gecko) Mobile/14G60",
			IP:        "192.0.2.1", Provider: "ses",
		}}},
		{"event-click.json", []Report{{
			Kind: Click, Recipient: "recipient@example.com", MessageID: evMsg, At: at("2017-08-09T23:51:25.570Z"),
			URL:       "http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html",
			UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/60.0.3112.90 Safari/537.36",
			IP:        "192.0.2.1", Provider: "ses",
		}}},
		{"event-delivery-delay.json", []Report{{
			Kind: Delay, Category: Network, Status: "4.4.1", Code: 421,
			Reason: "421 4.4.1 Unable to connect to remote host", Recipient: "recipient@example.com",
			MessageID: evMsg, At: at("2020-06-16T00:25:40.095Z"), Provider: "ses",
		}}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			got, err := ParseSES(string(fixture(t, "ses/"+c.file)))
			if err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			checkReports(t, got)
			compareReports(t, got, c.want)
		})
	}
}

func TestParseSESRejects(t *testing.T) {
	cases := map[string]string{
		"not json":        `notificationType=Bounce`,
		"no type":         `{"mail":{"messageId":"x"}}`,
		"no message id":   `{"notificationType":"Bounce","bounce":{}}`,
		"wrong json type": `{"notificationType":"Bounce","mail":{"messageId":"x"},"bounce":{"bouncedRecipients":"all"}}`,
		"too large":       `{"notificationType":"Delivery","x":"` + strings.Repeat("a", MaxWebhookBody) + `"}`,
	}
	rejectsAll(t, cases, func(b []byte) error { _, err := ParseSES(string(b)); return err })
}

func TestParseSESUnknownEventGivesNothing(t *testing.T) {
	got, err := ParseSES(`{"eventType":"Subscription","mail":{"messageId":"x"},"subscription":{}}`)
	if err != nil || len(got) != 0 {
		t.Fatalf("got %v, %v; want no reports and no error", got, err)
	}
}

func FuzzParseSES(f *testing.F) {
	fuzzReports(f, "ses", func(b []byte) ([]Report, error) { return ParseSES(string(b)) })
}
