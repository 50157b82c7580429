package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// domainCallers are the four places a domain is typed: each stores the
// domain and returns the form it stored, or says it is invalid.
func domainCallers(s *Store) map[string]func(ctx context.Context, domain string) (string, error) {
	return map[string]func(context.Context, string) (string, error){
		"suppression": func(ctx context.Context, d string) (string, error) {
			sp, _, err := s.AddSuppression(ctx, SuppressionInput{Kind: SuppressDomain, Value: d})
			return sp.Value, err
		},
		"dkim key": func(ctx context.Context, d string) (string, error) {
			k, err := s.AddDKIMKey(ctx, newDKIM(d, "herald1", DKIMEd25519))
			if err == nil {
				err = s.DeleteDKIMKey(ctx, k.ID)
			}
			return k.Domain, err
		},
		"domain limit": func(ctx context.Context, d string) (string, error) {
			g := validGeneral()
			g.DomainLimits = []DomainLimit{{Domain: d, PerHour: 10}}
			g, err := s.SaveGeneral(ctx, g)
			if len(g.DomainLimits) == 0 {
				return "", err
			}
			return g.DomainLimits[0].Domain, err
		},
		"contact email": func(ctx context.Context, d string) (string, error) {
			email := "ann@" + d
			c, _, err := s.CreateContact(ctx, ContactInput{Email: &email}, true)
			return strings.TrimPrefix(c.Email, "ann@"), err
		},
	}
}

func TestDomainRuleIsOneAcrossCallers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, domain, want string // want "" means refused
		says               string // part of the refusal
	}{
		{"plain", "example.com", "example.com", ""},
		{"upper case", "Mail.Example.ORG", "mail.example.org", ""},
		{"internationalised", "bücher.de", "xn--bcher-kva.de", ""},
		{"internationalised upper case", "BÜCHER.de", "xn--bcher-kva.de", ""},
		{"already ascii", "xn--bcher-kva.de", "xn--bcher-kva.de", ""},
		{"right-to-left", "אב.com", "xn--4dbc.com", ""},
		{"decomposed accent", "bu\u0308cher.de", "xn--bcher-kva.de", ""},
		{"digits in labels", "123.example.com", "123.example.com", ""},
		{"empty", "", "", "example.com"},
		{"bare host", "localhost", "", "with a dot"},
		{"empty label", "example..com", "", "no empty part"},
		{"leading dot", ".example.com", "", "no empty part"},
		{"trailing dot, as zone files write it", "Example.com.", "example.com", ""},
		{"two trailing dots", "example.com..", "", "without a dot at the end"},
		{"leading hyphen", "-shop.example.com", "", "hyphen"},
		{"trailing hyphen", "shop-.example.com", "", "hyphen"},
		{"label of 64", strings.Repeat("a", 64) + ".com", "", "at most 63"},
		{"encoded label over 63", strings.Repeat("ü", 60) + ".de", "", "at most 63"},
		{"name over 253", strings.Repeat(strings.Repeat("a", 60)+".", 4) + "example.com", "", "at most 253"},
		{"numeric tld", "example.123", "", "only digits"},
		{"ipv4", "192.168.0.1", "", "not an IP address"},
		{"ipv4 literal", "[192.168.0.1]", "", "not an IP address"},
		{"ipv6", "::1", "", "not an IP address"},
		{"underscore", "my_shop.com", "", "letters, digits and hyphens"},
		{"double hyphen", "ab--cd.com", "", "letters, digits and hyphens"},
		{"bad punycode", "xn--zz.com", "", "letters, digits and hyphens"},
		{"url", "http://example.com", "", "http://"},
		{"space", "exa mple.com", "", "spaces"},
		{"latin mixed with hebrew", "abcא.com", "", "not a valid international domain name"},
		{"full-width letters", "ｅｘａｍｐｌｅ.com", "", "not a valid international domain name"},
		{"emoji", "💩.la", "", "not a valid international domain name"},
		{"emoji as xn--", "xn--ls8h.la", "", "letters, digits and hyphens"},
		{"zero-width space", "exa\u200bmple.com", "", "invisible character U+200B"},
		{"soft hyphen", "exa\u00admple.com", "", "invisible character U+00AD"},
		{"right-to-left override", "exa\u202emple.com", "", "invisible character U+202E"},
		{"joiner as xn--", "xn--tgb9bvy774f.ir", "", "letters, digits and hyphens"},
		{"NUL", "example.com\x00", "", "invisible character U+0000"},
	}
	s, _ := openTestStore(t)
	ctx := context.Background()
	callers := domainCallers(s)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for caller, add := range callers {
				got, err := add(ctx, tc.domain)
				var ve *ValidationError
				switch {
				case tc.want != "" && err != nil:
					t.Errorf("%s: got %v, want %q stored", caller, err, tc.want)
				case tc.want != "" && got != tc.want:
					t.Errorf("%s: got %q stored, want %q", caller, got, tc.want)
				case tc.want == "" && !errors.As(err, &ve):
					t.Errorf("%s: got %q, %v, want a validation error", caller, got, err)
				case tc.want == "" && !strings.Contains(ve.Error(), tc.says):
					t.Errorf("%s: got %v, want it to say %q", caller, ve, tc.says)
				}
			}
		})
	}
}

func TestSuppressedDomainMatchesInternationalAddresses(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	if _, _, err := s.AddSuppression(ctx, SuppressionInput{Value: "@Bücher.de"}); err != nil {
		t.Fatalf("AddSuppression: %v", err)
	}
	email := "Kontakt@BÜCHER.de"
	c, _, err := s.CreateContact(ctx, ContactInput{Email: &email}, false)
	if err != nil {
		t.Fatalf("CreateContact: %v", err)
	}
	if c.Email != "kontakt@xn--bcher-kva.de" {
		t.Errorf("stored address: got %q, want %q", c.Email, "kontakt@xn--bcher-kva.de")
	}
	for _, addr := range []string{email, c.Email, "other@bücher.de"} {
		if _, ok, err := s.Suppressed(ctx, addr); err != nil || !ok {
			t.Errorf("Suppressed(%q): got %v, %v, want true", addr, ok, err)
		}
	}
	if n := countRows(t, s, `SELECT COUNT(*) FROM contacts c JOIN suppressions sp ON sp.kind = 'domain'
	AND sp.value = substr(c.email, instr(c.email, '@') + 1)`); n != 1 {
		t.Errorf("contacts matching a domain suppression in SQL: got %d, want 1", n)
	}
}

func TestEmailLocalPartMustBeASCII(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	email := "jürgen@bücher.de"
	_, _, err := s.CreateContact(context.Background(), ContactInput{Email: &email}, false)
	var ve *ValidationError
	if !errors.As(err, &ve) || !strings.Contains(ve.Fields["email"], "SMTPUTF8") {
		t.Errorf("got %v, want the email refused for its non-ASCII local part", err)
	}
}
