package feedback

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"herald/mailer/feedback/snstest"
)

// snsServer is SNS's stand-in on loopback, over TLS.
type snsServer = snstest.Server

func newSNSServer(t *testing.T) *snsServer { return snstest.Start(t, true) }

// verifierFor trusts the loopback server in place of SNS's hosts.
func verifierFor(s *snsServer) *SNSVerifier {
	v := NewSNSVerifier(s.Srv.Client())
	v.AllowURL = s.Allow
	return v
}

func TestSNSVerifyValid(t *testing.T) {
	s := newSNSServer(t)
	v := verifierFor(s)
	cases := []struct {
		name, typ, version string
		fields             map[string]string
	}{
		{"notification v1", SNSNotification, "1", nil},
		{"notification v2", SNSNotification, "2", nil},
		{"notification with subject v1", SNSNotification, "1", map[string]string{"Subject": "Amazon SES Email Event Notification"}},
		{"notification with subject v2", SNSNotification, "2", map[string]string{"Subject": "Hello"}},
		{"subscription confirmation v1", SNSSubscriptionConfirmation, "1", nil},
		{"subscription confirmation v2", SNSSubscriptionConfirmation, "2", nil},
		{"unsubscribe confirmation v2", SNSUnsubscribeConfirmation, "2", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := ParseSNS(s.Sign(t, c.typ, c.version, c.fields))
			if err != nil {
				t.Fatalf("ParseSNS: %v", err)
			}
			if err := v.Verify(context.Background(), m); err != nil {
				t.Fatalf("got %v, want nil", err)
			}
		})
	}
	if got := s.CertHits.Load(); got != 1 {
		t.Errorf("certificate fetched %d times, want 1", got)
	}
}

func TestSNSVerifyRejects(t *testing.T) {
	s := newSNSServer(t)
	v := verifierFor(s)
	valid := func(t *testing.T) SNSMessage {
		m, err := ParseSNS(s.Sign(t, SNSNotification, "2", nil))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	cases := []struct {
		name   string
		change func(*SNSMessage)
	}{
		{"tampered message", func(m *SNSMessage) { m.Message += " " }},
		{"tampered topic", func(m *SNSMessage) { m.TopicArn = "arn:aws:sns:us-west-2:999999999999:Other" }},
		{"added subject", func(m *SNSMessage) { m.Subject = "injected" }},
		{"type changed", func(m *SNSMessage) { m.Type = SNSSubscriptionConfirmation }},
		{"wrong signature", func(m *SNSMessage) {
			sig, _ := base64.StdEncoding.DecodeString(m.Signature)
			sig[10] ^= 1
			m.Signature = base64.StdEncoding.EncodeToString(sig)
		}},
		{"signature not base64", func(m *SNSMessage) { m.Signature = "!!" }},
		{"empty signature", func(m *SNSMessage) { m.Signature = "" }},
		{"version 3", func(m *SNSMessage) { m.SignatureVersion = "3" }},
		{"version 1 for a version 2 signature", func(m *SNSMessage) { m.SignatureVersion = "1" }},
		{"no version", func(m *SNSMessage) { m.SignatureVersion = "" }},
		{"cert on another host", func(m *SNSMessage) { m.SigningCertURL = "https://evil.example/cert.pem" }},
		{"cert missing", func(m *SNSMessage) { m.SigningCertURL = s.Srv.URL + "/missing.pem" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := valid(t)
			c.change(&m)
			if err := v.Verify(context.Background(), m); err == nil {
				t.Fatalf("got nil, want an error")
			}
		})
	}
}

// TestSNSURLRule checks the production rule: nothing here is fetched, as
// the client fails any request it is asked to make.
func TestSNSURLRule(t *testing.T) {
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("fetched %s", r.URL)
		return nil, http.ErrHandlerTimeout
	})}
	v := NewSNSVerifier(client)
	bad := []string{
		"https://evil.example/cert.pem",
		"http://sns.us-east-1.amazonaws.com/x.pem",
		"https://sns.us-east-1.amazonaws.com.evil.com/x.pem",
		"https://sns.us-east-1.amazonaws.com@evil.com/x.pem",
		"https://user:pass@sns.us-east-1.amazonaws.com/x.pem",
		"https://evil.com#@sns.us-east-1.amazonaws.com/x.pem",
		"https://evil.com\\@sns.us-east-1.amazonaws.com/x.pem",
		"https://sns.us-east-1.amazonaws.com:8443/x.pem",
		"https://sns.us-east-1.amazonaws.com:443/x.pem",
		"https://sns.us-east-1.amazonaws.com%2eevil.com/x.pem",
		"https://sns.us-east-1.amazonaws.com/x.txt",
		"https://sns.evil.amazonaws.com/x.pem",
		"https://sqs.us-east-1.amazonaws.com/x.pem",
		"https://SNS.US-EAST-1.AMAZONAWS.COM.evil.com/x.pem",
		"//sns.us-east-1.amazonaws.com/x.pem",
		"https:sns.us-east-1.amazonaws.com/x.pem",
		"",
	}
	for _, raw := range bad {
		m := SNSMessage{Type: SNSNotification, MessageId: "1", Message: "m", Timestamp: "t",
			TopicArn: "a", SignatureVersion: "2", Signature: "AAAA", SigningCertURL: raw}
		if err := v.Verify(context.Background(), m); err == nil {
			t.Errorf("Verify with SigningCertURL %q: got nil, want an error", raw)
		}
		if strings.HasSuffix(raw, ".txt") {
			continue // a SubscribeURL need not name a .pem file
		}
		m = SNSMessage{Type: SNSSubscriptionConfirmation, MessageId: "1", SubscribeURL: raw}
		if err := v.Confirm(context.Background(), m); err == nil {
			t.Errorf("Confirm with SubscribeURL %q: got nil, want an error", raw)
		}
	}
	good := []string{
		"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
		"https://sns.eu-central-2.amazonaws.com/SimpleNotificationService-abc.pem",
		"https://sns.us-gov-west-1.amazonaws.com/x.pem",
		"https://sns.cn-north-1.amazonaws.com.cn/x.pem",
		"https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:T&Token=abc",
	}
	for _, raw := range good {
		u, err := url.Parse(raw)
		if err != nil || !snsURLAllowed(u) {
			t.Errorf("snsURLAllowed(%q): got false, want true", raw)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestSNSCertFetchedOnceConcurrently(t *testing.T) {
	s := newSNSServer(t)
	v := verifierFor(s)
	m, err := ParseSNS(s.Sign(t, SNSNotification, "2", nil))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := v.Verify(context.Background(), m); err != nil {
				t.Errorf("Verify: %v", err)
			}
		}()
	}
	wg.Wait()
	if got := s.CertHits.Load(); got != 1 {
		t.Errorf("certificate fetched %d times, want 1", got)
	}
}

func TestSNSCertCacheIsBounded(t *testing.T) {
	c := newCertCache(2)
	fetches := 0
	fetch := func(context.Context) (*rsa.PublicKey, error) { fetches++; return &rsa.PublicKey{}, nil }
	for _, u := range []string{"a", "b", "c", "a"} {
		if _, err := c.get(context.Background(), u, fetch); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.keys) != 2 || fetches != 4 {
		t.Errorf("got %d keys after %d fetches, want 2 after 4 (a evicted by c)", len(c.keys), fetches)
	}
}

func TestSNSConfirm(t *testing.T) {
	s := newSNSServer(t)
	v := verifierFor(s)
	m, err := ParseSNS(s.Sign(t, SNSSubscriptionConfirmation, "2", nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(context.Background(), m); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if err := v.Confirm(context.Background(), m); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if got := s.Confirmed.Load(); got != 1 {
		t.Errorf("SubscribeURL visited %d times, want 1", got)
	}

	m.Type = SNSNotification
	if err := v.Confirm(context.Background(), m); err == nil {
		t.Error("Confirm of a notification: got nil, want an error")
	}
	m.Type, m.SubscribeURL = SNSSubscriptionConfirmation, s.Srv.URL+"/nowhere"
	if err := v.Confirm(context.Background(), m); err == nil {
		t.Error("Confirm answered 404: got nil, want an error")
	}
}

func TestParseSNS(t *testing.T) {
	cases := []struct {
		name, body string
		ok         bool
	}{
		{"notification", `{"Type":"Notification","MessageId":"1","Message":"x"}`, true},
		{"unknown type", `{"Type":"Other","MessageId":"1"}`, false},
		{"no message id", `{"Type":"Notification"}`, false},
		{"not json", `Type=Notification`, false},
		{"array", `[]`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseSNS([]byte(c.body))
			if (err == nil) != c.ok {
				t.Fatalf("got error %v, want ok=%v", err, c.ok)
			}
		})
	}
	big := []byte(`{"Type":"Notification","MessageId":"1","Message":"` + strings.Repeat("a", MaxWebhookBody) + `"}`)
	if _, err := ParseSNS(big); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Errorf("oversized body: got %v, want a size error", err)
	}
}

func TestParseSNSCarriesSES(t *testing.T) {
	m, err := ParseSNS(fixture(t, "sns/notification-ses-bounce.json"))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ParseSES(m.Message)
	if err != nil || len(rs) != 1 || rs[0].Kind != Bounce || rs[0].Recipient != "recipient@example.com" {
		t.Fatalf("got %+v, %v; want one bounce for recipient@example.com", rs, err)
	}
}

func FuzzParseSNS(f *testing.F) {
	for _, b := range fixtures(f, "sns") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := ParseSNS(body)
		if err != nil {
			return
		}
		if _, err := m.stringToSign(); err != nil {
			t.Fatalf("parsed message has no canonical form: %v", err)
		}
		if m.Type == SNSNotification {
			rs, _ := ParseSES(m.Message)
			checkReports(t, rs)
		}
	})
}
