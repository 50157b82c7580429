package store

import (
	"context"
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

func TestGeneralDefaults(t *testing.T) {
	s, _ := openTestStore(t)
	g, err := s.General(context.Background())
	if err != nil {
		t.Fatalf("General: %v", err)
	}
	if want := (General{Timezone: "UTC", FirstRetrySeconds: 30}); g != want || g.FirstRetry() != 30*time.Second {
		t.Errorf("General: got %+v, want %+v", g, want)
	}
}

func TestSaveGeneralValidation(t *testing.T) {
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
		{"bad from email", func(g *General) { g.FromEmail = "news at example.com" }, "from_email"},
		{"from email with name", func(g *General) { g.FromEmail = "Acme <news@example.com>" }, "from_email"},
		{"from name on two lines", func(g *General) { g.FromName = "Acme\r\nBcc: x@example.com" }, "from_name"},
		{"unknown timezone", func(g *General) { g.Timezone = "Mars/Olympus_Mons" }, "timezone"},
		{"timezone path", func(g *General) { g.Timezone = "../../etc/passwd" }, "timezone"},
		{"long org name", func(g *General) { g.OrgName = strings.Repeat("o", 201) }, "org_name"},
		{"long postal address", func(g *General) { g.PostalAddress = strings.Repeat("p", 501) }, "postal_address"},
		{"first retry too soon", func(g *General) { g.FirstRetrySeconds = 2 }, "first_retry_seconds"},
		{"first retry too late", func(g *General) { g.FirstRetrySeconds = 7200 }, "first_retry_seconds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := openTestStore(t)
			g := validGeneral()
			tc.change(&g)
			_, err := s.SaveGeneral(ctx, g)
			sameFields(t, err, tc.field)
			if got, err := s.General(ctx); err != nil || got != (General{Timezone: "UTC", FirstRetrySeconds: 30}) {
				t.Errorf("General after refused save: got %+v (%v), want defaults", got, err)
			}
		})
	}
}

func TestSaveGeneralRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := openTestStore(t)
	in := General{
		OrgName: "  Acme ", PostalAddress: " 1 Main St\nSpringfield ", BaseURL: " https://mail.example.com/ ",
		FromName: " Acme News ", FromEmail: " news@example.com ", Timezone: " Europe/London ",
	}
	want := General{
		OrgName: "Acme", PostalAddress: "1 Main St\nSpringfield", BaseURL: "https://mail.example.com",
		FromName: "Acme News", FromEmail: "news@example.com", Timezone: "Europe/London", FirstRetrySeconds: 30,
	}
	saved, err := s.SaveGeneral(ctx, in)
	if err != nil {
		t.Fatalf("SaveGeneral: %v", err)
	}
	if saved != want {
		t.Errorf("SaveGeneral: got %+v, want %+v", saved, want)
	}
	got, err := s.General(ctx)
	if err != nil {
		t.Fatalf("General: %v", err)
	}
	if got != want {
		t.Errorf("General: got %+v, want %+v", got, want)
	}

	// Saving again replaces the earlier values; empty fields are allowed.
	if _, err := s.SaveGeneral(ctx, General{OrgName: "Other"}); err != nil {
		t.Fatalf("second SaveGeneral: %v", err)
	}
	if got, err := s.General(ctx); err != nil || got != (General{OrgName: "Other", Timezone: "UTC", FirstRetrySeconds: 30}) {
		t.Errorf("General after second save: got %+v (%v), want only OrgName, UTC and the default retry", got, err)
	}
}

func TestGeneralSecure(t *testing.T) {
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
