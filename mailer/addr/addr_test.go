package addr

import (
	"errors"
	"net/mail"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

func TestDomain(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, want string // want "" means refused
		says     string
	}{
		{"example.com", "example.com", ""},
		{"EXAMPLE.com", "example.com", ""},
		{"bücher.de", "xn--bcher-kva.de", ""},
		{"xn--bcher-kva.de", "xn--bcher-kva.de", ""},
		{"例え.jp", "xn--r8jz45g.jp", ""},
		{"παράδειγμα.ελ", "xn--hxajbheg2az3al.xn--qxam", ""},
		{"l·l.cat", "xn--ll-0ea.cat", ""},
		{"ᏣᎳᎩ.com", "xn--f9dt7l.com", ""},
		{"ꮳꮃꭹ.com", "xn--f9dt7l.com", ""}, // Cherokee folds to capitals
		{"ß.de", "xn--zca.de", ""},
		{"a.b", "a.b", ""},
		{"3com.com", "3com.com", ""},
		{"", "", "Enter a domain like example.com."},
		{"com", "", "with a dot"},
		{"example.com.", "", "without a dot at the end"},
		{"a@example.com", "", "Leave out spaces, @ and http://"},
		{"10.0.0.1", "", "not an IP address"},
		{"[::1]", "", "not an IP address"},
		{"1.2.3.4.5", "", "only digits"},
		{"ab--c.com", "", "letters, digits and hyphens"},
		{"xn--a.com", "", "letters, digits and hyphens"},
		{"abcא.com", "", "not a valid international domain name"},
		{"ﬁle.com", "", "not a valid international domain name"},
		{"☃.net", "", "not a valid international domain name"},
		{"exa\u200dmple.com", "", "invisible character U+200D"},
		{"exa\ufeffmple.com", "", "invisible character U+FEFF"},
		{"exa\u2066mple.com", "", "invisible character U+2066"},
		{"\xff.com", "", "not a valid international domain name"},
		{strings.Repeat("a", 63) + ".com", strings.Repeat("a", 63) + ".com", ""},
		{strings.Repeat("a", 64) + ".com", "", "at most 63"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Domain(tc.in)
			var e *Error
			switch {
			case tc.want != "" && (err != nil || got != tc.want):
				t.Errorf("got %q, %v, want %q", got, err, tc.want)
			case tc.want == "" && (!errors.As(err, &e) || !strings.Contains(err.Error(), tc.says)):
				t.Errorf("got %q, %v, want an error saying %q", got, err, tc.says)
			}
		})
	}
}

func TestEmail(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, want string
		says     string
	}{
		{"ann@example.com", "ann@example.com", ""},
		{"Ann.Lee+news@Example.COM", "Ann.Lee+news@example.com", ""},
		{"kontakt@bücher.de", "kontakt@xn--bcher-kva.de", ""},
		{"=1+2@example.com", "=1+2@example.com", ""},
		{"o'neil@example.ie", "o'neil@example.ie", ""},
		{"", "", "Enter an email address."},
		{"ann", "", "valid email address"},
		{"@example.com", "", "valid email address"},
		{"ann@localhost", "", "with a dot"},
		{"ann@[192.168.0.1]", "", "not an IP address"},
		{"ann@exa_mple.com", "", "letters, digits and hyphens"},
		{"ann lee@example.com", "", "valid email address"},
		{`"ann lee"@example.com`, "", "valid email address"},
		{"Ann <ann@example.com>", "", "valid email address"},
		{"ann..lee@example.com", "", "valid email address"},
		{"jürgen@bücher.de", "", "SMTPUTF8"},
		{"ann\u202e@example.com", "", "invisible character U+202E"},
		{"ann\u200b@example.com", "", "invisible character U+200B"},
		{"ann@example.com\u200e", "", "invisible character U+200E"},
		{"ann\x00@example.com", "", "invisible character U+0000"},
		{"ann\u061c@example.com", "", "invisible character U+061C"},
		{"ann\u2060@example.com", "", "invisible character U+2060"},
		{strings.Repeat("a", 65) + "@example.com", "", "longer than email allows"},
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 60) + ".com", "", "longer than email allows"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Email(tc.in)
			switch {
			case tc.want != "" && (err != nil || got != tc.want):
				t.Errorf("got %q, %v, want %q", got, err, tc.want)
			case tc.want == "" && (err == nil || !strings.Contains(err.Error(), tc.says)):
				t.Errorf("got %q, %v, want an error saying %q", got, err, tc.says)
			}
		})
	}
}

func TestIsLabel(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{"herald1": true, "Herald-2024": true, "a": true, "": false, "-a": false, "a-": false,
		"a.b": false, "a_b": false, strings.Repeat("s", 63): true, strings.Repeat("s", 64): false, "sélecteur": false} {
		if got := IsLabel(in); got != want {
			t.Errorf("IsLabel(%q): got %v, want %v", in, got, want)
		}
	}
}

// checkDomainResult says what is wrong with what Domain returned for in.
func checkDomainResult(t *testing.T, in, got string, err error) {
	t.Helper()
	if err != nil {
		var e *Error
		if got != "" || !errors.As(err, &e) || !strings.HasPrefix(e.Error(), "Enter a domain like example.com") {
			t.Fatalf("Domain(%q): got %q, %v, want \"\" and an *Error saying what to type", in, got, err)
		}
		return
	}
	if len(got) > maxDomain || !strings.Contains(got, ".") {
		t.Fatalf("Domain(%q): got %q, longer than %d or without a dot", in, got, maxDomain)
	}
	for _, c := range []byte(got) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			t.Fatalf("Domain(%q): got %q, want lower-case letters, digits, hyphens and dots only", in, got)
		}
	}
	for label := range strings.SplitSeq(got, ".") {
		if label == "" || len(label) > maxLabel || label[0] == '-' || label[len(label)-1] == '-' {
			t.Fatalf("Domain(%q): got %q with the label %q", in, got, label)
		}
	}
	if again, err := Domain(got); err != nil || again != got {
		t.Fatalf("Domain(%q) = %q, but Domain(%q): got %q, %v, want it unchanged", in, got, got, again, err)
	}
	// The Unicode spelling of a stored name gets the same answer.
	if uni, err := idna.Registration.ToUnicode(got); err != nil {
		t.Fatalf("Domain(%q) = %q, which does not decode: %v", in, got, err)
	} else if again, err := Domain(uni); err != nil || again != got {
		t.Fatalf("Domain(%q) = %q, but its Unicode form %q: got %q, %v", in, got, uni, again, err)
	}
	// Plain names skip IDNA; IDNA must agree with them.
	if isLDH(got) {
		if a, err := idna.Registration.ToASCII(got); err != nil || a != got {
			t.Fatalf("Domain(%q) = %q, but Registration says %q, %v", in, got, a, err)
		}
	}
}

func FuzzDomain(f *testing.F) {
	for _, s := range []string{"example.com", "Bücher.DE", "xn--bcher-kva.de", "例え.jp", "a..b", "-a.com", "ab--cd.com",
		"xn--ls8h.la", "xn--tgb9bvy774f.ir", "1.2.3.4", "a.123", "exa\u200bmple.com", "אב.com", "abcא.com", "l·l.cat",
		"a\u0301.com", "ß.de", "İ.com", strings.Repeat("ü", 60) + ".de", "[::1]", "a.b."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := Domain(in)
		checkDomainResult(t, in, got, err)
	})
}

func FuzzEmail(f *testing.F) {
	for _, s := range []string{"ann@example.com", "Ann@Bücher.de", "=1+2@example.com", "jürgen@bücher.de", `"a b"@example.com`,
		"a@b@example.com", "a\u202e@example.com", "a@[1.2.3.4]", "a.@example.com", "Ann <ann@example.com>", "a@xn--bcher-kva.de"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := Email(in)
		if err != nil {
			var e *Error
			if got != "" || !errors.As(err, &e) || e.Error() == "" {
				t.Fatalf("Email(%q): got %q, %v, want \"\" and an *Error", in, got, err)
			}
			return
		}
		if !utf8.ValidString(got) || len(got) > maxEmail {
			t.Fatalf("Email(%q): got %q, invalid UTF-8 or over %d bytes", in, got, maxEmail)
		}
		for _, r := range got {
			if r >= utf8.RuneSelf || Invisible(r) {
				t.Fatalf("Email(%q): got %q, want printable ASCII only", in, got)
			}
		}
		at := strings.LastIndexByte(got, '@')
		if at < 1 || at > maxLocal {
			t.Fatalf("Email(%q): got %q, local part empty or over %d", in, got, maxLocal)
		}
		d, err := Domain(got[at+1:])
		if err != nil || d != got[at+1:] {
			t.Fatalf("Email(%q): got %q, whose domain Domain gives as %q, %v", in, got, d, err)
		}
		if a, err := mail.ParseAddress(got); err != nil || a.Address != got {
			t.Fatalf("Email(%q): got %q, which net/mail reads as %v, %v", in, got, a, err)
		}
		if again, err := Email(got); err != nil || again != got {
			t.Fatalf("Email(%q) = %q, but Email(%q): got %q, %v, want it unchanged", in, got, got, again, err)
		}
	})
}
