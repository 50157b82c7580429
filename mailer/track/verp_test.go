package track

import (
	"strings"
	"testing"
)

func TestVERPRoundTrip(t *testing.T) {
	s := NewSigner([]byte("key"))
	tok := s.SignVERP(12, 34567)
	if tok != strings.ToLower(tok) || strings.ContainsAny(tok, "=+/@") {
		t.Fatalf("token %q is not lower-case base32", tok)
	}
	for _, in := range []string{tok, strings.ToUpper(tok)} {
		c, sd, err := s.ParseVERP(in)
		if err != nil || c != 12 || sd != 34567 {
			t.Fatalf("ParseVERP(%q) = %d, %d, %v", in, c, sd, err)
		}
	}
	if _, _, err := NewSigner([]byte("other")).ParseVERP(tok); err == nil {
		t.Fatal("a token signed with another key was accepted")
	}
	if _, _, err := s.ParseVERP(tok[:len(tok)-1] + "a"); err == nil && !strings.HasSuffix(tok, "a") {
		t.Fatal("a tampered token was accepted")
	}
	// A tracking token is never a VERP token.
	if _, _, err := s.ParseVERP(s.Sign(Ref{Campaign: 12, Send: 34567})); err == nil {
		t.Fatal("a tracking token was taken as a VERP token")
	}
}

func FuzzVERP(f *testing.F) {
	s := NewSigner([]byte("key"))
	f.Add(s.SignVERP(1, 2))
	f.Add("")
	f.Add("aaaaaaaaaaaaaaaaaaaa")
	f.Fuzz(func(t *testing.T, token string) {
		c, sd, err := s.ParseVERP(token)
		if err != nil {
			return
		}
		if c <= 0 || sd <= 0 {
			t.Fatalf("accepted %q as %d, %d", token, c, sd)
		}
		if again := s.SignVERP(c, sd); !strings.EqualFold(again, token) {
			t.Fatalf("%q parsed but signs back as %q", token, again)
		}
	})
}
