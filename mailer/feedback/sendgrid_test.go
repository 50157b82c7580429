package feedback

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

func TestParseSendGrid(t *testing.T) {
	const msg = "14c5d75ce93"
	when := time.Unix(1513299569, 0).UTC()
	want := []Report{
		{Kind: Delay, Category: Other, Code: 400, Reason: "400 try again later", Recipient: "example@test.com",
			MessageID: msg, EventID: "qK1MxfAaE_ukyyNsjxTpkw==", At: when, Provider: "sendgrid"},
		{Kind: Delivery, Code: 250, Reason: "250 OK", Recipient: "example@test.com",
			MessageID: msg, EventID: "hqFbp3HH9WxIM0R2-x2M1Q==", At: when, Provider: "sendgrid"},
		{Kind: Open, Recipient: "example@test.com", MessageID: msg, EventID: "9cB8Ci7hHBFmXdwBkN4WRQ==", At: when,
			UserAgent: "Mozilla/4.0 (compatible; MSIE 6.1; Windows XP; .NET CLR 1.1.4322; .NET CLR 2.0.50727)",
			IP:        "255.255.255.255", Provider: "sendgrid"},
		{Kind: Click, Recipient: "example@test.com", MessageID: msg, EventID: "EmOdVKDBxPZqkQLYJpU7Zg==", At: when,
			URL:       "http://www.sendgrid.com/",
			UserAgent: "Mozilla/4.0 (compatible; MSIE 6.1; Windows XP; .NET CLR 1.1.4322; .NET CLR 2.0.50727)",
			IP:        "255.255.255.255", Provider: "sendgrid"},
		{Kind: Bounce, Severity: Hard, Category: UserUnknown, Status: "5.1.1", Code: 550,
			Reason:    "550 5.1.1 The email account that you tried to reach does not exist.",
			Recipient: "example@test.com", MessageID: msg, EventID: "2-K7oizvRT6rk2JlZhe7vQ==", At: when, Provider: "sendgrid"},
		{Kind: Bounce, Severity: Soft, Category: SpamBlocked, Status: "5.7.1", Code: 554,
			Reason:    "554 5.7.1 Service unavailable; Client host blocked",
			Recipient: "example@test.com", MessageID: msg, EventID: "Bk2tnjG1Qy2mJ4cb9f6ZpQ==", At: when, Provider: "sendgrid"},
		{Kind: Bounce, Severity: Hard, Category: Suppressed, Reason: "Bounced Address",
			Recipient: "example@test.com", MessageID: msg, EventID: "zmzJhfJgAfUSOW80yEbPyw==", At: when, Provider: "sendgrid"},
		{Kind: Complaint, Category: "abuse", Recipient: "example@test.com", MessageID: msg,
			EventID: "37nvH5QBz858KGVYCM4uOA==", At: when, Provider: "sendgrid"},
		{Kind: Unsubscribe, Recipient: "example@test.com", MessageID: msg,
			EventID: "jWmZXTZbtHTV2-S47asrww==", At: when, Provider: "sendgrid"},
	}
	got, err := ParseSendGrid(fixture(t, "sendgrid/events.json"))
	if err != nil {
		t.Fatalf("got %v, want nil", err)
	}
	checkReports(t, got)
	compareReports(t, got, want)
}

func TestParseSendGridDropped(t *testing.T) {
	cases := []struct {
		reason   string
		kind     Kind
		category string
	}{
		{"Bounced Address", Bounce, Suppressed},
		{"Spam Reporting Address", Complaint, Suppressed},
		{"Unsubscribed Address", Unsubscribe, ""},
		{"Invalid SMTPAPI header", Reject, Other},
	}
	for _, c := range cases {
		t.Run(c.reason, func(t *testing.T) {
			got, err := ParseSendGrid([]byte(`[{"event":"dropped","email":"a@b.c","reason":"` + c.reason + `"}]`))
			if err != nil || len(got) != 1 {
				t.Fatalf("got %+v, %v", got, err)
			}
			if got[0].Kind != c.kind || got[0].Category != c.category {
				t.Errorf("got %s %q, want %s %q", got[0].Kind, got[0].Category, c.kind, c.category)
			}
		})
	}
}

func TestParseSendGridRejects(t *testing.T) {
	cases := map[string]string{
		"object":    `{"event":"bounce"}`,
		"not json":  `event=bounce`,
		"bad field": `[{"event":"bounce","email":7}]`,
		"too large": `[{"event":"delivered","response":"` + strings.Repeat("a", MaxWebhookBody) + `"}]`,
	}
	rejectsAll(t, cases, func(b []byte) error { _, err := ParseSendGrid(b); return err })
}

// sendGridSigner stands in for SendGrid's signing key.
type sendGridSigner struct {
	key       *ecdsa.PrivateKey
	publicB64 string
}

func newSendGridSigner(t *testing.T) sendGridSigner {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return sendGridSigner{key: key, publicB64: base64.StdEncoding.EncodeToString(der)}
}

func (s sendGridSigner) sign(t *testing.T, timestamp string, body []byte) string {
	t.Helper()
	d := sha256.Sum256(append([]byte(timestamp), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func TestVerifySendGrid(t *testing.T) {
	s := newSendGridSigner(t)
	other := newSendGridSigner(t)
	body := fixture(t, "sendgrid/events.json")
	const ts = "1600112502"
	sig := s.sign(t, ts, body)
	der, _ := base64.StdEncoding.DecodeString(s.publicB64)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	rsaDER, _ := x509.MarshalPKIXPublicKey(&newSNSServer(t).Key.PublicKey)

	cases := []struct {
		name, key, sig, ts string
		body               []byte
		ok                 bool
	}{
		{"valid", s.publicB64, sig, ts, body, true},
		{"valid with PEM key", pemKey, sig, ts, body, true},
		{"body changed", s.publicB64, sig, ts, append([]byte(" "), body...), false},
		{"timestamp changed", s.publicB64, sig, "1600112503", body, false},
		{"other key", other.publicB64, sig, ts, body, false},
		{"signature by other key", s.publicB64, other.sign(t, ts, body), ts, body, false},
		{"signature not base64", s.publicB64, "%%%", ts, body, false},
		{"no signature", s.publicB64, "", ts, body, false},
		{"no timestamp", s.publicB64, sig, "", body, false},
		{"key not base64", "not a key!", sig, ts, body, false},
		{"key not ECDSA", base64.StdEncoding.EncodeToString(rsaDER), sig, ts, body, false},
		{"body too large", s.publicB64, sig, ts, make([]byte, MaxWebhookBody+1), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := VerifySendGrid(c.key, c.sig, c.ts, c.body)
			if (err == nil) != c.ok {
				t.Fatalf("got %v, want ok=%v", err, c.ok)
			}
		})
	}
}

func FuzzParseSendGrid(f *testing.F) {
	fuzzReports(f, "sendgrid", ParseSendGrid)
}
