package mailer

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
)

// signedNewsletter is a multipart message with every header Herald signs.
func signedNewsletter() []byte {
	msg := testMessage()
	msg.HTML = "<p>Hallo Jürgen,</p><p>" + longLine + "</p>"
	msg.ReplyTo = []mail.Address{{Name: "Redaktion", Address: "redaktion@example.org"}}
	msg.UnsubscribeURL = "https://news.example.org/u/abc"
	msg.UnsubscribeMailto = "unsubscribe@example.org"
	msg.ListName, msg.ListID = "Neuigkeiten", "news.example.org"
	msg.FeedbackID = "7:42:news:herald"
	return msg.Bytes()
}

func mustKey(t testing.TB, algorithm string) DKIMKey {
	t.Helper()
	k, err := GenerateDKIMKey("example.org", "herald1", algorithm)
	if err != nil {
		t.Fatalf("GenerateDKIMKey(%s): got %v, want nil", algorithm, err)
	}
	return k
}

// verify checks signed against the public key of k, served as if from DNS.
func verify(t *testing.T, k DKIMKey, signed []byte) *dkim.Verification {
	t.Helper()
	value, err := k.DNSValue()
	if err != nil {
		t.Fatalf("DNSValue: got %v, want nil", err)
	}
	lookup := func(name string) ([]string, error) {
		if name != k.DNSName() {
			return nil, errors.New("no such name: " + name)
		}
		return []string{value}, nil
	}
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(signed), &dkim.VerifyOptions{LookupTXT: lookup})
	if err != nil || len(verifs) != 1 {
		t.Fatalf("VerifyWithOptions: got %d verifications and %v, want 1 and nil", len(verifs), err)
	}
	return verifs[0]
}

func mustSign(t *testing.T, s *DKIMSigner, msg []byte) []byte {
	t.Helper()
	signed, err := s.Sign(msg)
	if err != nil {
		t.Fatalf("Sign: got %v, want nil", err)
	}
	return signed
}

func TestDKIMSignVerifies(t *testing.T) {
	t.Parallel()
	for _, algorithm := range []string{DKIMRSA, DKIMEd25519} {
		t.Run(algorithm, func(t *testing.T) {
			k := mustKey(t, algorithm)
			s, err := NewDKIMSigner(k)
			if err != nil {
				t.Fatalf("NewDKIMSigner: got %v, want nil", err)
			}
			msg := signedNewsletter()
			signed := mustSign(t, s, msg)
			if !bytes.HasPrefix(signed, []byte("DKIM-Signature: ")) || !bytes.HasSuffix(signed, msg) {
				t.Fatalf("signed message: got %.80q..., want DKIM-Signature then the message", signed)
			}
			v := verify(t, k, signed)
			if v.Err != nil || v.Domain != "example.org" {
				t.Errorf("verification: got domain %q and %v, want example.org and nil", v.Domain, v.Err)
			}
			signedKeys := strings.ToLower(strings.Join(v.HeaderKeys, ":"))
			for _, h := range signedHeaders {
				if !strings.Contains(signedKeys, strings.ToLower(h)) {
					t.Errorf("h= %s: got no %s, want it signed", signedKeys, h)
				}
			}
		})
	}
}

func TestDKIMSignTampered(t *testing.T) {
	t.Parallel()
	k := mustKey(t, DKIMEd25519)
	s, err := NewDKIMSigner(k)
	if err != nil {
		t.Fatalf("NewDKIMSigner: got %v, want nil", err)
	}
	msg := testMessage()
	msg.Text = "Pay 10 EUR"
	tests := []struct {
		name   string
		tamper func([]byte) []byte
	}{
		{"body", func(b []byte) []byte { return bytes.Replace(b, []byte("Pay 10"), []byte("Pay 99"), 1) }},
		{"subject", func(b []byte) []byte { return bytes.Replace(b, []byte("Subject: "), []byte("Subject: Re: "), 1) }},
		{"added reply-to", func(b []byte) []byte { return append([]byte("Reply-To: thief@example.com\r\n"), b...) }},
		{"second from", func(b []byte) []byte { return append([]byte("From: boss@example.org\r\n"), b...) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signed := mustSign(t, s, msg.Bytes())
			// Keep the signature header first, as a forwarder would.
			end := bytes.Index(signed, []byte("\r\nDate: ")) + 2
			tampered := append(append([]byte{}, signed[:end]...), tt.tamper(signed[end:])...)
			if v := verify(t, k, tampered); v.Err == nil {
				t.Errorf("verification of tampered message: got nil, want an error")
			}
		})
	}
}

func TestDKIMSignConcurrent(t *testing.T) {
	t.Parallel()
	k := mustKey(t, DKIMEd25519)
	s, err := NewDKIMSigner(k)
	if err != nil {
		t.Fatalf("NewDKIMSigner: got %v, want nil", err)
	}
	msg := signedNewsletter()
	signed := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range signed {
		wg.Go(func() { signed[i], _ = s.Sign(msg) })
	}
	wg.Wait()
	for i, b := range signed {
		if v := verify(t, k, b); v.Err != nil {
			t.Errorf("message %d: got %v, want a valid signature", i, v.Err)
		}
	}
}

func TestDKIMKeyDNS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		algorithm, prefix string
		keyLen            int
	}{{DKIMRSA, "v=DKIM1; k=rsa; p=", 294}, {DKIMEd25519, "v=DKIM1; k=ed25519; p=", 32}}
	for _, tt := range tests {
		t.Run(tt.algorithm, func(t *testing.T) {
			k := mustKey(t, tt.algorithm)
			if got, want := k.DNSName(), "herald1._domainkey.example.org"; got != want {
				t.Errorf("DNSName: got %q, want %q", got, want)
			}
			value, err := k.DNSValue()
			if err != nil || !strings.HasPrefix(value, tt.prefix) {
				t.Fatalf("DNSValue: got %q and %v, want %q... and nil", value, err, tt.prefix)
			}
			pub, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(value, tt.prefix))
			if err != nil || len(pub) != tt.keyLen {
				t.Errorf("p=: got %d bytes and %v, want %d and nil", len(pub), err, tt.keyLen)
			}
		})
	}
}

func TestDKIMKeyErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, domain, selector, algorithm, want string }{
		{"empty domain", "", "s1", DKIMRSA, "is not a domain"},
		{"address", "news@example.org", "s1", DKIMRSA, "is not a domain"},
		{"single label", "localhost", "s1", DKIMRSA, "is not a domain"},
		{"trailing dot", "example.org.", "s1", DKIMRSA, "is not a domain"},
		{"dash label", "-bad.example.org", "s1", DKIMRSA, "is not a domain"},
		{"upper case", "Example.org", "s1", DKIMRSA, "give example.org"},
		{"unicode, not the DNS form", "bücher.de", "s1", DKIMRSA, "give xn--bcher-kva.de"},
		{"invisible character", "exa\u200bmple.org", "s1", DKIMRSA, "invisible character U+200B"},
		{"empty selector", "example.org", "", DKIMRSA, "is not a selector"},
		{"dotted selector", "example.org", "a.b", DKIMRSA, "is not a selector"},
		{"underscore selector", "example.org", "my_key", DKIMRSA, "is not a selector"},
		{"algorithm", "example.org", "s1", "dsa", "is not a key algorithm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := GenerateDKIMKey(tt.domain, tt.selector, tt.algorithm)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("GenerateDKIMKey(%q, %q, %q): got %v, want %q", tt.domain, tt.selector, tt.algorithm, err, tt.want)
			}
		})
	}
}

func TestDKIMKeyForInternationalDomain(t *testing.T) {
	t.Parallel()
	k, err := GenerateDKIMKey("xn--bcher-kva.de", "herald1", DKIMEd25519)
	if err != nil {
		t.Fatalf("GenerateDKIMKey: got %v, want a key for the xn-- form", err)
	}
	if got, want := k.DNSName(), "herald1._domainkey.xn--bcher-kva.de"; got != want {
		t.Errorf("DNSName: got %v, want %v", got, want)
	}
}

func TestNewDKIMSignerBadKey(t *testing.T) {
	t.Parallel()
	rsaKey := mustKey(t, DKIMRSA)
	mismatched := rsaKey
	mismatched.Algorithm = DKIMEd25519
	garbage := rsaKey
	garbage.PrivatePEM = "not a key"
	for name, k := range map[string]DKIMKey{"algorithm mismatch": mismatched, "garbage": garbage} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewDKIMSigner(k); err == nil || !strings.Contains(err.Error(), "generate a new key") {
				t.Errorf("NewDKIMSigner: got %v, want an error saying to generate a new key", err)
			}
		})
	}
}

// BenchmarkDKIMSignRSA signs a 10 KB newsletter with an RSA-2048 key, the
// work a DKIM-signing campaign adds to each message.
func BenchmarkDKIMSignRSA(b *testing.B) {
	s, err := NewDKIMSigner(mustKey(b, DKIMRSA))
	if err != nil {
		b.Fatal(err)
	}
	msg := testMessage()
	const para = "<p>We baked something new this week: flour, water, salt and time, and still it differs.</p>\n"
	msg.HTML = strings.Repeat(para, 9<<10/len(para))
	raw := msg.Bytes()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(raw); err != nil {
			b.Fatal(err)
		}
	}
}
