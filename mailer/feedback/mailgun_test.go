package feedback

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseMailgun(t *testing.T) {
	cases := []struct {
		file string
		want []Report
	}{
		{"failed-permanent.json", []Report{{
			Kind: Bounce, Severity: Hard, Category: UserUnknown, Status: "5.1.1", Code: 550,
			Reason: "5.1.1 The email account that you tried to reach does not exist.", Recipient: "alice@example.com",
			MessageID: "20130503192659.13651.20287@mg.example.com", EventID: "G9Bn5sl1TC6nu79C8C0bwg/1521233195",
			At: time.Unix(1521233195, 375624000).UTC(), Provider: "mailgun",
		}}},
		{"failed-suppressed.json", []Report{{
			Kind: Bounce, Severity: Hard, Category: Suppressed, Reason: "Not delivering to previously bounced address",
			Recipient: "alice@example.com", MessageID: "20130503192659.13651.20288@mg.example.com",
			EventID: "H9Bn5sl1TC6nu79C8C0bwh/1521233195", At: time.Unix(1521233195, 500000000).UTC(), Provider: "mailgun",
		}}},
		{"failed-temporary.json", []Report{{
			Kind: Delay, Category: MailboxFull, Status: "4.2.2", Code: 452,
			Reason:    "4.2.2 The email account that you tried to reach is over quota.",
			Recipient: "alice@example.com", MessageID: "20180319151654.1.B64B79F4E42C0347@mg.example.com",
			EventID: "Fs7-5t81S2ircqRUFrZ_Qw/1521472262", At: time.Unix(1521472262, 908181000).UTC(), Provider: "mailgun",
		}}},
		{"delivered.json", []Report{{
			Kind: Delivery, Code: 250, Reason: "OK", Recipient: "alice@example.com",
			MessageID: "20130503182626.18666.16540@mg.example.com", EventID: "CPgfbmQMTCKtHW6uIWtuVe/1521472262",
			At: time.Unix(1521472262, 908181000).UTC(), Provider: "mailgun",
		}}},
		{"opened.json", []Report{{
			Kind: Open, Recipient: "alice@example.com", MessageID: "20130503182626.18666.16540@mg.example.com",
			EventID: "Ase7i2zsRYeDXztHGENqRA/1521243339", At: time.Unix(1521243339, 873676000).UTC(),
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.31 (KHTML, like Gecko) Chrome/26.0.1410.43 Safari/537.31",
			IP:        "50.56.129.169", Provider: "mailgun",
		}}},
		{"clicked.json", []Report{{
			Kind: Click, Recipient: "alice@example.com", MessageID: "20130503182626.18666.16540@mg.example.com",
			EventID: "Ase7i2zsRYeDXztHGENqRB/1521243340", At: time.Unix(1521243340, 873676000).UTC(),
			URL: "https://example.com/landing", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", IP: "50.56.129.169",
			Provider: "mailgun",
		}}},
		{"complained.json", []Report{{
			Kind: Complaint, Category: "abuse", Recipient: "alice@example.com",
			MessageID: "20130503182626.18666.16540@mg.example.com", EventID: "-Agny091SquKnsrW2NEKUA/1521233123",
			At: time.Unix(1521233123, 501324000).UTC(), Provider: "mailgun",
		}}},
		{"accepted.json", nil},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			got, sig, err := ParseMailgun(fixture(t, "mailgun/"+c.file))
			if err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			if sig.Timestamp != "1529006854" || sig.Token == "" || sig.Signature == "" {
				t.Errorf("got signature %+v, want its three fields", sig)
			}
			checkReports(t, got)
			// Nanoseconds from a float are approximate; compare to the microsecond.
			for i := range got {
				got[i].At = got[i].At.Round(time.Microsecond)
			}
			compareReports(t, got, c.want)
		})
	}
}

func TestParseMailgunFailures(t *testing.T) {
	cases := []struct {
		severity, reason string
		kind             Kind
		sev              Severity
		category         string
	}{
		{"temporary", "old", Bounce, Soft, Expired},
		{"temporary", "generic", Delay, "", Other},
		{"permanent", "suppress-complaint", Complaint, "", Suppressed},
		{"permanent", "suppress-unsubscribe", Unsubscribe, "", ""},
		{"permanent", "bounce", Bounce, Hard, Other},
	}
	for _, c := range cases {
		t.Run(c.severity+" "+c.reason, func(t *testing.T) {
			body := `{"event-data":{"event":"failed","recipient":"a@b.c","severity":"` + c.severity + `","reason":"` + c.reason + `"}}`
			got, _, err := ParseMailgun([]byte(body))
			if err != nil || len(got) != 1 {
				t.Fatalf("got %+v, %v", got, err)
			}
			if got[0].Kind != c.kind || got[0].Severity != c.sev || got[0].Category != c.category {
				t.Errorf("got %s %s %q, want %s %s %q", got[0].Kind, got[0].Severity, got[0].Category, c.kind, c.sev, c.category)
			}
		})
	}
}

func TestParseMailgunRejects(t *testing.T) {
	cases := map[string]string{
		"not json":      `event=failed`,
		"no event-data": `{"signature":{"timestamp":"1","token":"t","signature":"s"}}`,
		"bad timestamp": `{"signature":{"timestamp":{}}}`,
		"too large":     `{"event-data":{"reason":"` + strings.Repeat("a", MaxWebhookBody) + `"}}`,
	}
	rejectsAll(t, cases, func(b []byte) error { _, _, err := ParseMailgun(b); return err })
}

func mailgunSign(key, timestamp, token string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(timestamp + token))
	return hex.EncodeToString(mac.Sum(nil))
}

func TestVerifyMailgun(t *testing.T) {
	const key, token = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0", "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
	now := time.Unix(1700000000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := mailgunSign(key, ts, token)
	old := strconv.FormatInt(now.Add(-16*time.Minute).Unix(), 10)
	future := strconv.FormatInt(now.Add(16*time.Minute).Unix(), 10)
	recent := strconv.FormatInt(now.Add(-14*time.Minute).Unix(), 10)

	cases := []struct {
		name, key, ts, token, sig string
		ok                        bool
	}{
		{"valid", key, ts, token, sig, true},
		{"valid 14 minutes old", key, recent, token, mailgunSign(key, recent, token), true},
		{"expired", key, old, token, mailgunSign(key, old, token), false},
		{"from the future", key, future, token, mailgunSign(key, future, token), false},
		{"wrong signature", key, ts, token, mailgunSign(key, ts, token+"x"), false},
		{"wrong key", "other-key", ts, token, sig, false},
		{"signature not hex", key, ts, token, "zz" + sig[2:], false},
		{"truncated signature", key, ts, token, sig[:32], false},
		{"timestamp not a number", key, "soon", token, mailgunSign(key, "soon", token), false},
		{"no key", "", ts, token, sig, false},
		{"no token", key, ts, "", mailgunSign(key, ts, ""), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := VerifyMailgun(c.key, c.ts, c.token, c.sig, now)
			if (err == nil) != c.ok {
				t.Fatalf("got %v, want ok=%v", err, c.ok)
			}
		})
	}

	// The signature parsed from a body verifies through its method.
	body := `{"signature":{"timestamp":` + ts + `,"token":"` + token + `","signature":"` + sig + `"},"event-data":{"event":"delivered"}}`
	_, parsed, err := ParseMailgun([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := parsed.Verify(key, now); err != nil {
		t.Errorf("parsed signature: got %v, want nil", err)
	}
}

func FuzzParseMailgun(f *testing.F) {
	fuzzReports(f, "mailgun", func(b []byte) ([]Report, error) { rs, _, err := ParseMailgun(b); return rs, err })
}
