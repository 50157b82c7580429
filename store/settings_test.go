package store

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

func validGeneral() General {
	return General{
		OrgName: "Acme", PostalAddress: "1 Main St", BaseURL: "https://mail.example.com",
		FromName: "Acme News", FromEmail: "news@example.com", Timezone: "Europe/London",
	}
}

func defaultGeneral() General {
	return General{Timezone: "UTC", FirstRetrySeconds: 30, BouncePausePercent: 5, ComplaintPausePercent: 0.1, SoftBounceLimit: 3,
		APILimits: RateLimits{Read: 100, Write: 50, Send: 50}}
}

func TestGeneralDefaults(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	g, err := s.General(context.Background())
	if err != nil {
		t.Fatalf("General: %v", err)
	}
	if want := defaultGeneral(); !reflect.DeepEqual(g, want) || g.FirstRetry() != 30*time.Second {
		t.Errorf("General: got %+v, want %+v", g, want)
	}
}

func TestSaveGeneralValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		change func(*General)
		field  string
	}{
		{"base url without scheme", func(g *General) { g.BaseURL = "mail.example.com" }, "base_url"},
		{"base url ftp", func(g *General) { g.BaseURL = "ftp://mail.example.com" }, "base_url"},
		{"base url without host", func(g *General) { g.BaseURL = "https://" }, "base_url"},
		{"base url with query", func(g *General) { g.BaseURL = "https://mail.example.com/?a=b" }, "base_url"},
		{"base url with fragment", func(g *General) { g.BaseURL = "https://mail.example.com/#top" }, "base_url"},
		{"base url garbage", func(g *General) { g.BaseURL = "http://[::1" }, "base_url"},
		{"base url with a login", func(g *General) { g.BaseURL = "https://user:pw@news.acme.example" }, "base_url"},
		{"base url with a user", func(g *General) { g.BaseURL = "https://user@news.acme.example" }, "base_url"},
		{"base url with an empty login", func(g *General) { g.BaseURL = "https://@news.acme.example" }, "base_url"},
		{"base url with an empty query", func(g *General) { g.BaseURL = "https://news.acme.example/?" }, "base_url"},
		{"base url with a bare host name", func(g *General) { g.BaseURL = "https://herald:8080" }, "base_url"},
		{"base url host with an underscore", func(g *General) { g.BaseURL = "https://news_acme.example" }, "base_url"},
		{"base url host with an override", func(g *General) { g.BaseURL = "https://news\u202e.acme.example" }, "base_url"},
		{"base url port out of range", func(g *General) { g.BaseURL = "https://news.acme.example:70000" }, "base_url"},
		{"base url port zero", func(g *General) { g.BaseURL = "https://news.acme.example:0" }, "base_url"},
		{"bad from email", func(g *General) { g.FromEmail = "news at example.com" }, "from_email"},
		{"from email with name", func(g *General) { g.FromEmail = "Acme <news@example.com>" }, "from_email"},
		{"from name on two lines", func(g *General) { g.FromName = "Acme\r\nBcc: x@example.com" }, "from_name"},
		{"unknown timezone", func(g *General) { g.Timezone = "Mars/Olympus_Mons" }, "timezone"},
		{"timezone path", func(g *General) { g.Timezone = "../../etc/passwd" }, "timezone"},
		{"long org name", func(g *General) { g.OrgName = strings.Repeat("o", 201) }, "org_name"},
		{"long postal address", func(g *General) { g.PostalAddress = strings.Repeat("p", 501) }, "postal_address"},
		{"first retry too soon", func(g *General) { g.FirstRetrySeconds = 2 }, "first_retry_seconds"},
		{"first retry too late", func(g *General) { g.FirstRetrySeconds = 7200 }, "first_retry_seconds"},
		{"bounce rate over 100", func(g *General) { g.BouncePausePercent = 101 }, "bounce_pause_percent"},
		{"negative complaint rate", func(g *General) { g.ComplaintPausePercent = -1 }, "complaint_pause_percent"},
		{"domain limit not a domain", func(g *General) { g.DomainLimits = []DomainLimit{{"gmail", 10}} }, "domain_limits"},
		{"domain limit of zero", func(g *General) { g.DomainLimits = []DomainLimit{{"gmail.com", 0}} }, "domain_limits"},
		{"domain listed twice", func(g *General) { g.DomainLimits = []DomainLimit{{"gmail.com", 1}, {"GMAIL.com", 2}} }, "domain_limits"},
		{"negative read limit", func(g *General) { g.APILimits.Read = -1 }, "api_limits.read"},
		{"send limit too high", func(g *General) { g.APILimits.Send = 100_001 }, "api_limits.send"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := openTestStore(t)
			g := validGeneral()
			tc.change(&g)
			_, err := s.SaveGeneral(ctx, g)
			sameFields(t, err, tc.field)
			if got, err := s.General(ctx); err != nil || !reflect.DeepEqual(got, defaultGeneral()) {
				t.Errorf("General after refused save: got %+v (%v), want defaults", got, err)
			}
		})
	}
}

func TestSaveGeneralRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	in := General{
		OrgName: "  Acme ", PostalAddress: " 1 Main St\nSpringfield ", BaseURL: " https://mail.example.com/ ",
		FromName: " Acme News ", FromEmail: " news@example.com ", Timezone: " Europe/London ",
		DomainLimits: []DomainLimit{{" GMail.com ", 3000}},
	}
	want := General{
		OrgName: "Acme", PostalAddress: "1 Main St\nSpringfield", BaseURL: "https://mail.example.com",
		FromName: "Acme News", FromEmail: "news@example.com", Timezone: "Europe/London", FirstRetrySeconds: 30,
		BouncePausePercent: 5, ComplaintPausePercent: 0.1, DomainLimits: []DomainLimit{{"gmail.com", 3000}}, SoftBounceLimit: 3,
		APILimits: DefaultRateLimits,
	}
	saved, err := s.SaveGeneral(ctx, in)
	if err != nil {
		t.Fatalf("SaveGeneral: %v", err)
	}
	if !reflect.DeepEqual(saved, want) || saved.DomainLimit("gmail.com") != 3000 || saved.DomainLimit("yahoo.com") != 0 {
		t.Errorf("SaveGeneral: got %+v, want %+v", saved, want)
	}
	got, err := s.General(ctx)
	if err != nil {
		t.Fatalf("General: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("General: got %+v, want %+v", got, want)
	}

	// Saving again replaces the earlier values; empty fields are allowed.
	if _, err := s.SaveGeneral(ctx, General{OrgName: "Other"}); err != nil {
		t.Fatalf("second SaveGeneral: %v", err)
	}
	other := defaultGeneral()
	other.OrgName = "Other"
	if got, err := s.General(ctx); err != nil || !reflect.DeepEqual(got, other) {
		t.Errorf("General after second save: got %+v (%v), want only OrgName, UTC and the default retry", got, err)
	}
}

// TestBaseURL: domains, IP addresses and localhost are accepted with ports
// and paths, an international domain kept in its xn-- form; a base URL that
// would put a login, a query or a fragment into every link is refused
// saying which part to drop.
func TestBaseURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want, says string }{
		{"https://news.acme.example", "https://news.acme.example", ""},
		{"HTTPS://News.Acme.Example:8443/mail/", "https://news.acme.example:8443/mail", ""},
		{"http://localhost:8080", "http://localhost:8080", ""},
		{"http://127.0.0.1:8080/herald", "http://127.0.0.1:8080/herald", ""},
		{"http://[::1]:8080", "http://[::1]:8080", ""},
		{"https://bücher.de:8443", "https://xn--bcher-kva.de:8443", ""},
		{"https://news.acme.example/#", "https://news.acme.example", ""},
		{"https://user:pw@news.acme.example", "", "user name and password"},
		{"https://news.acme.example/?utm=1", "", "query"},
		{"https://news.acme.example/#top", "", "fragment"},
		{"https://herald", "", "The host is not one Herald can put in links"},
	} {
		g := validGeneral()
		g.BaseURL = tc.in
		g.Normalize()
		got := g.Validate()["base_url"]
		if tc.says == "" && (got != "" || g.BaseURL != tc.want) || !strings.Contains(got, tc.says) {
			t.Errorf("%s: got %q %q, want %q %q", tc.in, g.BaseURL, got, tc.want, tc.says)
		}
	}
}

func TestGeneralSecure(t *testing.T) {
	t.Parallel()
	cases := []struct {
		base string
		want bool
	}{
		{"https://mail.example.com", true},
		{"http://mail.example.com", false},
		{"", false},
	}
	for _, tc := range cases {
		t.Run(tc.base, func(t *testing.T) {
			if got := (General{BaseURL: tc.base}).Secure(); got != tc.want {
				t.Errorf("Secure(%q): got %v, want %v", tc.base, got, tc.want)
			}
		})
	}
}
