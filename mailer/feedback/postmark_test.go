package feedback

import (
	"strings"
	"testing"
)

func TestParsePostmark(t *testing.T) {
	const zero = "00000000-0000-0000-0000-000000000000"
	cases := []struct {
		file string
		want []Report
	}{
		{"bounce-hard.json", []Report{{
			Kind: Bounce, Severity: Hard, Category: UserUnknown, Status: "5.1.1", Code: 550,
			Reason:    "550 5.1.1 The email account that you tried to reach does not exist.",
			Recipient: "john@example.com", MessageID: "883953f4-6105-42a2-a16a-77a8eac79483",
			EventID: "4323372036854775807", At: at("2019-11-05T16:33:54.9070259Z"), Provider: "postmark",
		}}},
		{"bounce-soft.json", []Report{{
			Kind: Bounce, Severity: Soft, Category: MailboxFull, Status: "4.2.2", Code: 452,
			Reason: "452 4.2.2 mailbox over quota", Recipient: "mary@example.com",
			MessageID: "9a0b4c1e-2f3d-4e5a-8b6c-7d8e9f0a1b2c", EventID: "42",
			At: at("2014-08-01T17:28:10.2735393Z"), Provider: "postmark",
		}}},
		{"bounce-blocked.json", []Report{{
			Kind: Bounce, Severity: Soft, Category: Policy, Status: "5.7.1", Code: 550,
			Reason:    "550 5.7.1 Service unavailable; client host blocked using a blocklist",
			Recipient: "ops@example.org", MessageID: "0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f", EventID: "43",
			At: at("2021-03-02T08:00:00Z"), Provider: "postmark",
		}}},
		{"bounce-autoresponder.json", []Report{{
			Kind: AutoReply, Reason: "I am out of the office until Monday.", Recipient: "away@example.com",
			MessageID: "1d2e3f4a-5b6c-7d8e-9f0a-1b2c3d4e5f6a", EventID: "44",
			At: at("2021-03-02T09:00:00Z"), Provider: "postmark",
		}}},
		{"spam-complaint.json", []Report{{
			Kind: Complaint, Category: "abuse", Reason: "Test spam complaint details", Recipient: "john@example.com",
			MessageID: zero, EventID: "42", At: at("2019-11-05T16:33:54.9070259Z"), Provider: "postmark",
		}}},
		{"delivery.json", []Report{{
			Kind: Delivery, Reason: "Test delivery webhook details", Recipient: "john@example.com",
			MessageID: zero, At: at("2019-11-05T16:33:54.9070259Z"), Provider: "postmark",
		}}},
		{"open.json", []Report{{
			Kind: Open, Recipient: "john@example.com", MessageID: zero, At: at("2019-11-05T16:33:54.9070259Z"),
			UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/58.0.3029.110 Safari/537.36",
			IP:        "188.2.95.4", Provider: "postmark",
		}}},
		{"click.json", []Report{{
			Kind: Click, Recipient: "john@example.com", MessageID: zero, At: at("2017-10-25T15:21:11Z"),
			URL:       "https://example.com",
			UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_7_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/35.0.1916.153 Safari/537.36",
			IP:        "192.168.0.1", Provider: "postmark",
		}}},
		{"subscription-change.json", []Report{{
			Kind: Unsubscribe, Recipient: "bounced-address@wildbit.com", MessageID: "883953f4-6105-42a2-a16a-77a8eac79483",
			At: at("2020-02-01T10:53:34.416071Z"), Provider: "postmark",
		}}},
		{"subscription-reactivated.json", nil},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			got, err := ParsePostmark(fixture(t, "postmark/"+c.file))
			if err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			checkReports(t, got)
			compareReports(t, got, c.want)
		})
	}
}

func TestParsePostmarkBounceTypes(t *testing.T) {
	cases := []struct {
		typ      string
		kind     Kind
		severity Severity
		category string
	}{
		{"HardBounce", Bounce, Hard, UserUnknown},
		{"SoftBounce", Bounce, Soft, MailboxFull},
		{"Transient", Bounce, Soft, Network},
		{"DnsError", Bounce, Soft, DomainNotFound},
		{"SpamNotification", Bounce, Soft, SpamBlocked},
		{"Blocked", Bounce, Soft, Policy},
		{"ManuallyDeactivated", Bounce, Hard, Suppressed},
		{"Unknown", Bounce, Undetermined, Other},
		{"SomethingNew", Bounce, Undetermined, Other},
		{"AutoResponder", AutoReply, "", ""},
		{"Unsubscribe", Unsubscribe, "", ""},
		{"SMTPApiError", Reject, "", Other},
		{"Subscribe", "", "", ""},
		{"OpenRelayTest", "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			got, err := ParsePostmark([]byte(`{"RecordType":"Bounce","Type":"` + c.typ + `","Email":"a@b.c","MessageID":"m"}`))
			if err != nil {
				t.Fatal(err)
			}
			if c.kind == "" {
				if len(got) != 0 {
					t.Fatalf("got %+v, want no report", got)
				}
				return
			}
			if len(got) != 1 || got[0].Kind != c.kind || got[0].Severity != c.severity || got[0].Category != c.category {
				t.Fatalf("got %+v, want %s %s %s", got, c.kind, c.severity, c.category)
			}
		})
	}
}

func TestParsePostmarkSubscriptionReasons(t *testing.T) {
	cases := map[string]Report{
		"HardBounce":    {Kind: Bounce, Severity: Hard, Category: Suppressed},
		"SpamComplaint": {Kind: Complaint, Category: Suppressed},
	}
	for reason, want := range cases {
		got, err := ParsePostmark([]byte(`{"RecordType":"SubscriptionChange","Recipient":"a@b.c","SuppressSending":true,"SuppressionReason":"` + reason + `"}`))
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: got %+v, %v", reason, got, err)
		}
		if got[0].Kind != want.Kind || got[0].Severity != want.Severity || got[0].Category != want.Category {
			t.Errorf("%s: got %+v, want %+v", reason, got[0], want)
		}
	}
}

func TestParsePostmarkRejects(t *testing.T) {
	cases := map[string]string{
		"not json":      `RecordType=Bounce`,
		"no RecordType": `{"Type":"HardBounce"}`,
		"array":         `[{"RecordType":"Bounce"}]`,
		"too large":     `{"RecordType":"Delivery","Details":"` + strings.Repeat("a", MaxWebhookBody) + `"}`,
	}
	rejectsAll(t, cases, func(b []byte) error { _, err := ParsePostmark(b); return err })
}

func FuzzParsePostmark(f *testing.F) {
	fuzzReports(f, "postmark", ParsePostmark)
}
