package store

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func ptr(s string) *string { return &s }

func validRelay() RelayInput {
	return RelayInput{
		Name: "Postmark", Kind: "smtp", Host: "smtp.example.com", Port: 587, TLS: TLSStartTLS,
		Username: "user", Password: ptr("relay-secret-XYZ"), MaxConnections: 4, RatePerSecond: 10, Enabled: true,
	}
}

func rawPassword(t *testing.T, s *Store, id int64) []byte {
	t.Helper()
	var enc []byte
	if err := s.r.QueryRow(`SELECT password_enc FROM relays WHERE id = ?`, id).Scan(&enc); err != nil {
		t.Fatalf("read password_enc: %v", err)
	}
	return enc
}

func TestCreateRelayValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		change func(*RelayInput)
		field  string
	}{
		{"empty name", func(in *RelayInput) { in.Name = "  " }, "name"},
		{"long name", func(in *RelayInput) { in.Name = strings.Repeat("n", 101) }, "name"},
		{"unknown kind", func(in *RelayInput) { in.Kind = "sendmail" }, "kind"},
		{"ses without a region", func(in *RelayInput) { in.Kind = "ses" }, "region"},
		{"ses with a bad region", func(in *RelayInput) { in.Kind, in.Region = "ses", "Ireland" }, "region"},
		{"ses secret without key", func(in *RelayInput) { in.Kind, in.Region, in.Username = "ses", "eu-west-1", "" }, "access_key_id"},
		{"ses bad endpoint", func(in *RelayInput) { in.Kind, in.Region, in.Endpoint = "ses", "eu-west-1", "email.example.com" }, "endpoint"},
		{"negative quota", func(in *RelayInput) { in.DailyQuota = -1 }, "daily_quota"},
		{"warm-up without a start", func(in *RelayInput) { in.WarmupDays = 14 }, "warmup_start"},
		{"warm-up start above quota", func(in *RelayInput) { in.WarmupDays, in.WarmupStart, in.DailyQuota = 14, 500, 100 }, "warmup_start"},
		{"empty kind", func(in *RelayInput) { in.Kind = "" }, "kind"},
		{"empty host", func(in *RelayInput) { in.Host = "" }, "host"},
		{"host with scheme", func(in *RelayInput) { in.Host = "smtp://smtp.example.com" }, "host"},
		{"host with port", func(in *RelayInput) { in.Host = "smtp.example.com:587" }, "host"},
		{"host with space", func(in *RelayInput) { in.Host = "smtp example.com" }, "host"},
		{"host with user", func(in *RelayInput) { in.Host = "me@smtp.example.com" }, "host"},
		{"port zero", func(in *RelayInput) { in.Port = 0 }, "port"},
		{"port too big", func(in *RelayInput) { in.Port = 65536 }, "port"},
		{"negative port", func(in *RelayInput) { in.Port = -25 }, "port"},
		{"unknown tls", func(in *RelayInput) { in.TLS = "ssl" }, "tls"},
		{"empty tls", func(in *RelayInput) { in.TLS = "" }, "tls"},
		{"password without username", func(in *RelayInput) { in.Username = "" }, "username"},
		{"no connections", func(in *RelayInput) { in.MaxConnections = 0 }, "max_connections"},
		{"too many connections", func(in *RelayInput) { in.MaxConnections = 101 }, "max_connections"},
		{"negative rate", func(in *RelayInput) { in.RatePerSecond = -1 }, "rate_per_second"},
		{"huge rate", func(in *RelayInput) { in.RatePerSecond = 100001 }, "rate_per_second"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTestStore(t)
			in := validRelay()
			tc.change(&in)
			_, err := s.CreateRelay(context.Background(), in)
			sameFields(t, err, tc.field)
			if got := countRows(t, s, `SELECT COUNT(*) FROM relays`); got != 0 {
				t.Errorf("relays rows: got %v, want 0", got)
			}
		})
	}
}

func TestCreateRelayAccepts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		change func(*RelayInput)
	}{
		{"as given", func(in *RelayInput) {}},
		{"kind and tls in other case", func(in *RelayInput) { in.Kind, in.TLS = " SMTP ", "TLS" }},
		{"ipv4 host", func(in *RelayInput) { in.Host = "192.0.2.25" }},
		{"ipv6 host", func(in *RelayInput) { in.Host = "2001:db8::25" }},
		{"no password", func(in *RelayInput) { in.Username, in.Password = "", nil }},
		{"empty password", func(in *RelayInput) { in.Username, in.Password = "", ptr("") }},
		{"no rate limit", func(in *RelayInput) { in.RatePerSecond = 0 }},
		{"tls none port 25", func(in *RelayInput) { in.TLS, in.Port = TLSNone, 25 }},
		{"highest values", func(in *RelayInput) { in.Port, in.MaxConnections, in.RatePerSecond = 65535, 100, 100000 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTestStore(t)
			in := validRelay()
			tc.change(&in)
			if _, err := s.CreateRelay(context.Background(), in); err != nil {
				t.Errorf("CreateRelay: got %v, want nil", err)
			}
		})
	}
}

func TestCreateRelayStores(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	in := validRelay()
	in.Name, in.Kind, in.Host, in.TLS, in.RatePerSecond = "  Postmark ", "SMTP", " smtp.example.com ", "StartTLS", 2.5
	r, err := s.CreateRelay(ctx, in)
	if err != nil {
		t.Fatalf("CreateRelay: %v", err)
	}
	want := Relay{
		ID: r.ID, Name: "Postmark", Kind: "smtp", Host: "smtp.example.com", Port: 587, TLS: TLSStartTLS,
		Username: "user", PasswordSet: true, MaxConnections: 4, RatePerSecond: 2.5, Enabled: true,
		CreatedAt: testStart, UpdatedAt: testStart, FeedbackToken: r.FeedbackToken,
	}
	if len(r.FeedbackToken) < 20 {
		t.Errorf("created relay has feedback token %q, want a random one", r.FeedbackToken)
	}
	if r.ID == 0 || r != want {
		t.Errorf("created relay: got %+v, want %+v", r, want)
	}
	if got, err := s.Relay(ctx, r.ID); err != nil || got != want {
		t.Errorf("Relay: got %+v (%v), want %+v", got, err, want)
	}
	if got := r.Addr(); got != "smtp.example.com:587" {
		t.Errorf("Addr: got %v, want smtp.example.com:587", got)
	}
	if _, err := s.Relay(ctx, r.ID+100); !errors.Is(err, ErrNotFound) {
		t.Errorf("Relay on missing id: got %v, want %v", err, ErrNotFound)
	}
}

func TestRelaysOrderedByName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	for _, name := range []string{"charlie", "Alpha", "bravo"} {
		in := validRelay()
		in.Name = name
		if _, err := s.CreateRelay(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := s.Relays(ctx)
	if err != nil {
		t.Fatalf("Relays: %v", err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, r.Name)
	}
	if strings.Join(got, ",") != "Alpha,bravo,charlie" {
		t.Errorf("Relays: got %v, want [Alpha bravo charlie]", got)
	}
}

func TestCreateRelayDuplicateName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	if _, err := s.CreateRelay(ctx, validRelay()); err != nil {
		t.Fatal(err)
	}
	dup := validRelay()
	dup.Name = "POSTMARK"
	if _, err := s.CreateRelay(ctx, dup); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate name: got %v, want %v", err, ErrConflict)
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM relays`); got != 1 {
		t.Errorf("relays rows: got %v, want 1", got)
	}
}

func TestRelayPasswordEncrypted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := openStoreAt(t, dir, testBox(t))
	r, err := s.CreateRelay(ctx, validRelay())
	if err != nil {
		t.Fatal(err)
	}
	enc := rawPassword(t, s, r.ID)
	if len(enc) == 0 {
		t.Fatalf("password_enc: got empty, want ciphertext")
	}
	if bytes.Contains(enc, []byte("relay-secret-XYZ")) {
		t.Errorf("password_enc: got %q, want no plaintext", enc)
	}
	if got, err := s.RelayPassword(ctx, r.ID); err != nil || got != "relay-secret-XYZ" {
		t.Errorf("RelayPassword: got %q (%v), want %q", got, err, "relay-secret-XYZ")
	}
	if _, err := s.RelayPassword(ctx, r.ID+100); !errors.Is(err, ErrNotFound) {
		t.Errorf("RelayPassword on missing id: got %v, want %v", err, ErrNotFound)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// The same database with another key cannot read the password.
	other, err := NewSecretBox(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	s2 := openStoreAt(t, dir, other)
	if got, err := s2.RelayPassword(ctx, r.ID); err == nil {
		t.Errorf("RelayPassword with another key: got %q, nil error, want an error", got)
	}
}

func TestRelayWithoutPassword(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, pw := range map[string]*string{"nil": nil, "empty": ptr("")} {
		t.Run(name, func(t *testing.T) {
			s, _ := openTestStore(t)
			in := validRelay()
			in.Password = pw
			r, err := s.CreateRelay(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if r.PasswordSet {
				t.Errorf("PasswordSet: got true, want false")
			}
			if enc := rawPassword(t, s, r.ID); enc != nil {
				t.Errorf("password_enc: got %q, want NULL", enc)
			}
			if got, err := s.RelayPassword(ctx, r.ID); err != nil || got != "" {
				t.Errorf("RelayPassword: got %q (%v), want empty", got, err)
			}
		})
	}
}

func TestUpdateRelayPassword(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock := openTestStore(t)
	r, err := s.CreateRelay(ctx, validRelay())
	if err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Hour)

	in := r.InputOf()
	in.Host = "smtp2.example.com"
	in.Port = 465
	in.TLS = TLSImplicit
	kept, err := s.UpdateRelay(ctx, r.ID, in)
	if err != nil {
		t.Fatalf("UpdateRelay keeping password: %v", err)
	}
	if kept.Host != "smtp2.example.com" || kept.Port != 465 || kept.TLS != TLSImplicit || !kept.PasswordSet {
		t.Errorf("updated relay: got %+v, want new host, port and tls, password still set", kept)
	}
	if !kept.CreatedAt.Equal(testStart) || !kept.UpdatedAt.Equal(clock.now()) {
		t.Errorf("times: got created %v updated %v, want %v and %v", kept.CreatedAt, kept.UpdatedAt, testStart, clock.now())
	}
	if got, err := s.RelayPassword(ctx, r.ID); err != nil || got != "relay-secret-XYZ" {
		t.Errorf("RelayPassword after nil Password: got %q (%v), want %q", got, err, "relay-secret-XYZ")
	}

	in.Password = ptr("new-secret")
	changed, err := s.UpdateRelay(ctx, r.ID, in)
	if err != nil {
		t.Fatalf("UpdateRelay with new password: %v", err)
	}
	if got, err := s.RelayPassword(ctx, r.ID); err != nil || got != "new-secret" || !changed.PasswordSet {
		t.Errorf("RelayPassword after change: got %q (%v), set %v, want %q, set", got, err, changed.PasswordSet, "new-secret")
	}
	if bytes.Contains(rawPassword(t, s, r.ID), []byte("new-secret")) {
		t.Errorf("password_enc after change: contains the plaintext")
	}

	in.Password = ptr("")
	removed, err := s.UpdateRelay(ctx, r.ID, in)
	if err != nil {
		t.Fatalf("UpdateRelay removing password: %v", err)
	}
	if removed.PasswordSet {
		t.Errorf("PasswordSet after removal: got true, want false")
	}
	if got, err := s.RelayPassword(ctx, r.ID); err != nil || got != "" {
		t.Errorf("RelayPassword after removal: got %q (%v), want empty", got, err)
	}
}

func TestUpdateRelayErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	a, err := s.CreateRelay(ctx, validRelay())
	if err != nil {
		t.Fatal(err)
	}
	in := validRelay()
	in.Name = "Office"
	b, err := s.CreateRelay(ctx, in)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := s.UpdateRelay(ctx, b.ID+100, validRelay()); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateRelay on missing id: got %v, want %v", err, ErrNotFound)
	}

	in.Name = "postmark"
	if _, err := s.UpdateRelay(ctx, b.ID, in); !errors.Is(err, ErrConflict) {
		t.Errorf("UpdateRelay to another relay's name: got %v, want %v", err, ErrConflict)
	}

	in = b.InputOf()
	in.Port = 0
	_, err = s.UpdateRelay(ctx, b.ID, in)
	sameFields(t, err, "port")
	if got, err := s.Relay(ctx, b.ID); err != nil || got.Port != 587 {
		t.Errorf("relay after refused update: got %+v (%v), want port 587", got, err)
	}

	if err := s.DeleteRelay(ctx, a.ID); err != nil {
		t.Fatalf("DeleteRelay: %v", err)
	}
	if _, err := s.Relay(ctx, a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Relay after delete: got %v, want %v", err, ErrNotFound)
	}
	if err := s.DeleteRelay(ctx, a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteRelay on missing id: got %v, want %v", err, ErrNotFound)
	}
	if _, err := s.Relay(ctx, b.ID); err != nil {
		t.Errorf("other relay after delete: got %v, want nil", err)
	}
}

// TestSESRelayStores keeps an SES relay's region, key, configuration set
// and quota, drops the SMTP fields it does not use, and dates its warm-up
// from when warm-up was turned on.
func TestSESRelayStores(t *testing.T) {
	t.Parallel()
	s, clock := openTestStore(t)
	ctx := context.Background()
	in := RelayInput{Name: "SES", Kind: "ses", Host: "ignored.example.com", Port: 25, Region: " EU-West-1 ", Username: "AKIAEXAMPLE",
		Password: ptr("secret/key"), ConfigurationSet: "news", MaxConnections: 10, DailyQuota: 50000, Enabled: true}
	r, err := s.CreateRelay(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != RelaySES || r.Region != "eu-west-1" || r.Host != "" || r.Port != 0 || r.ConfigurationSet != "news" || r.DailyQuota != 50000 ||
		!r.PasswordSet || !r.WarmupFrom.IsZero() {
		t.Fatalf("stored: %+v", r)
	}
	if pw, err := s.RelayPassword(ctx, r.ID); err != nil || pw != "secret/key" {
		t.Errorf("secret: %q %v", pw, err)
	}
	clock.advance(48 * time.Hour)
	up := r.InputOf()
	up.WarmupDays, up.WarmupStart = 10, 200
	if r, err = s.UpdateRelay(ctx, r.ID, up); err != nil || !r.WarmupFrom.Equal(clock.now()) {
		t.Fatalf("warm-up on: from %v %v, want %v", r.WarmupFrom, err, clock.now())
	}
	clock.advance(24 * time.Hour)
	if r, err = s.UpdateRelay(ctx, r.ID, r.InputOf()); err != nil || !r.WarmupFrom.Equal(clock.now().Add(-24*time.Hour)) {
		t.Errorf("warm-up kept: from %v %v, want the day it was turned on", r.WarmupFrom, err)
	}
	up = r.InputOf()
	up.WarmupDays = 0
	if r, _ = s.UpdateRelay(ctx, r.ID, up); !r.WarmupFrom.IsZero() {
		t.Errorf("warm-up off: from %v, want none", r.WarmupFrom)
	}
}
