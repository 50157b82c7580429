package store

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakePEM stands in for a generated key: the store keeps it sealed and never
// parses it.
func fakePEM(tag string) string {
	return "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI" + tag + "\n-----END PRIVATE KEY-----\n"
}

func newDKIM(domain, selector, alg string) NewDKIMKey {
	return NewDKIMKey{Domain: domain, Selector: selector, Algorithm: alg, PrivatePEM: fakePEM(selector), DNSValue: "v=DKIM1; k=" + alg + "; p=PUB" + selector}
}

func addDKIM(t *testing.T, s *Store, in NewDKIMKey) DKIMKey {
	t.Helper()
	k, err := s.AddDKIMKey(context.Background(), in)
	if err != nil {
		t.Fatalf("AddDKIMKey(%s, %s): %v", in.Domain, in.Selector, err)
	}
	return k
}

func TestAddDKIMKeyStoresItSealed(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	in := newDKIM(" Example.COM. ", "Herald1", "RSA")
	k := addDKIM(t, s, in)
	want := DKIMKey{ID: k.ID, Domain: "example.com", Selector: "herald1", Algorithm: DKIMRSA, DNSValue: in.DNSValue, Enabled: true, CreatedAt: testStart}
	if k != want {
		t.Errorf("added key: got %+v, want %+v", k, want)
	}
	if got := k.DNSName(); got != "herald1._domainkey.example.com" {
		t.Errorf("DNSName: got %q, want herald1._domainkey.example.com", got)
	}
	var enc []byte
	if err := s.r.QueryRow(`SELECT private_enc FROM dkim_keys WHERE id = ?`, k.ID).Scan(&enc); err != nil {
		t.Fatal(err)
	}
	if len(enc) == 0 || bytes.Contains(enc, []byte("PRIVATE KEY")) || bytes.Contains(enc, []byte("MC4CAQAwBQYDK2VwBCIE")) {
		t.Errorf("private_enc holds the key in the clear: %q", enc)
	}
	pem, err := s.DKIMPrivateKey(ctx, k.ID)
	if err != nil || pem != in.PrivatePEM {
		t.Errorf("DKIMPrivateKey: got %q, %v, want %q", pem, err, in.PrivatePEM)
	}
	got, err := s.DKIMKey(ctx, k.ID)
	if err != nil || got != want {
		t.Errorf("DKIMKey: got %+v, %v, want %+v", got, err, want)
	}
	if _, err := s.DKIMKey(ctx, k.ID+1); !errors.Is(err, ErrNotFound) {
		t.Errorf("DKIMKey of a missing id: got %v, want ErrNotFound", err)
	}
	if _, err := s.DKIMPrivateKey(ctx, k.ID+1); !errors.Is(err, ErrNotFound) {
		t.Errorf("DKIMPrivateKey of a missing id: got %v, want ErrNotFound", err)
	}
}

func TestAddDKIMKeyRefusesADuplicateSelector(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	addDKIM(t, s, newDKIM("example.com", "herald1", DKIMRSA))
	_, err := s.AddDKIMKey(context.Background(), newDKIM("EXAMPLE.com", "HERALD1", DKIMEd25519))
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate selector: got %v, want ErrConflict", err)
	}
	for _, part := range []string{"herald1", "example.com", "like herald2"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("conflict message %q does not mention %q", err, part)
		}
	}
	// The same selector on another domain is another key.
	addDKIM(t, s, newDKIM("shop.example.com", "herald1", DKIMRSA))
	if n := countRows(t, s, `SELECT COUNT(*) FROM dkim_keys`); n != 2 {
		t.Errorf("keys stored: got %d, want 2", n)
	}
}

func TestAddDKIMKeyValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		change func(*NewDKIMKey)
		fields []string
	}{
		{"no domain", func(in *NewDKIMKey) { in.Domain = " " }, []string{"domain"}},
		{"no dot", func(in *NewDKIMKey) { in.Domain = "localhost" }, []string{"domain"}},
		{"an address", func(in *NewDKIMKey) { in.Domain = "news@example.com" }, []string{"domain"}},
		{"a URL", func(in *NewDKIMKey) { in.Domain = "https://example.com" }, []string{"domain"}},
		{"empty label", func(in *NewDKIMKey) { in.Domain = "example..com" }, []string{"domain"}},
		{"no selector", func(in *NewDKIMKey) { in.Selector = "" }, []string{"selector"}},
		{"dotted selector", func(in *NewDKIMKey) { in.Selector = "a.b" }, []string{"selector"}},
		{"long selector", func(in *NewDKIMKey) { in.Selector = strings.Repeat("s", 64) }, []string{"selector"}},
		{"unknown algorithm", func(in *NewDKIMKey) { in.Algorithm = "dsa" }, []string{"algorithm"}},
		{"everything", func(in *NewDKIMKey) { in.Domain, in.Selector, in.Algorithm = "", "-", "" }, []string{"algorithm", "domain", "selector"}},
		{"no key", func(in *NewDKIMKey) { in.PrivatePEM = "" }, []string{"key"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTestStore(t)
			in := newDKIM("example.com", "herald1", DKIMRSA)
			tc.change(&in)
			_, err := s.AddDKIMKey(context.Background(), in)
			sameFields(t, err, tc.fields...)
			if n := countRows(t, s, `SELECT COUNT(*) FROM dkim_keys`); n != 0 {
				t.Errorf("keys stored: got %d, want 0", n)
			}
		})
	}
}

func TestSigningKeyIsTheNewestEnabledKey(t *testing.T) {
	t.Parallel()
	s, clock := openTestStore(t)
	ctx := context.Background()
	if _, err := s.SigningKey(ctx, "example.com"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SigningKey without keys: got %v, want ErrNotFound", err)
	}
	older := addDKIM(t, s, newDKIM("example.com", "herald1", DKIMRSA))
	clock.advance(time.Hour)
	newer := addDKIM(t, s, newDKIM("example.com", "herald2", DKIMEd25519))
	addDKIM(t, s, newDKIM("other.example", "herald9", DKIMRSA))

	signing := func(domain string) int64 {
		t.Helper()
		k, err := s.SigningKey(ctx, domain)
		if errors.Is(err, ErrNotFound) {
			return 0
		}
		if err != nil {
			t.Fatalf("SigningKey(%s): %v", domain, err)
		}
		return k.ID
	}
	k, err := s.SigningKey(ctx, "Example.COM")
	want := SigningKey{ID: newer.ID, Domain: "example.com", Selector: "herald2", Algorithm: DKIMEd25519, PrivatePEM: fakePEM("herald2")}
	if err != nil || k != want {
		t.Errorf("SigningKey: got %+v, %v, want %+v", k, err, want)
	}
	if _, err := s.SetDKIMKeyEnabled(ctx, newer.ID, false); err != nil {
		t.Fatal(err)
	}
	if got := signing("example.com"); got != older.ID {
		t.Errorf("with the newer key disabled: got key %d, want %d", got, older.ID)
	}
	off, err := s.SetDKIMKeyEnabled(ctx, older.ID, false)
	if err != nil || off.Enabled {
		t.Fatalf("SetDKIMKeyEnabled(false): got %+v, %v", off, err)
	}
	if got := signing("example.com"); got != 0 {
		t.Errorf("with every key disabled: got key %d, want none", got)
	}
	if on, err := s.SetDKIMKeyEnabled(ctx, newer.ID, true); err != nil || !on.Enabled {
		t.Fatalf("SetDKIMKeyEnabled(true): got %+v, %v", on, err)
	}
	if got := signing("example.com"); got != newer.ID {
		t.Errorf("re-enabled: got key %d, want %d", got, newer.ID)
	}
	if got := signing("sub.example.com"); got != 0 {
		t.Errorf("a subdomain without keys: got key %d, want none", got)
	}
	if _, err := s.SetDKIMKeyEnabled(ctx, 999, true); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetDKIMKeyEnabled of a missing id: got %v, want ErrNotFound", err)
	}
}

func TestDKIMKeysListAndDelete(t *testing.T) {
	t.Parallel()
	s, clock := openTestStore(t)
	ctx := context.Background()
	a1 := addDKIM(t, s, newDKIM("b.example", "one", DKIMRSA))
	clock.advance(time.Minute)
	a2 := addDKIM(t, s, newDKIM("b.example", "two", DKIMRSA))
	c := addDKIM(t, s, newDKIM("a.example", "one", DKIMEd25519))
	ids := func(ks []DKIMKey) []int64 {
		out := []int64{}
		for _, k := range ks {
			out = append(out, k.ID)
		}
		return out
	}
	ks, err := s.DKIMKeys(ctx)
	if got, want := ids(ks), []int64{c.ID, a2.ID, a1.ID}; err != nil || !slices.Equal(got, want) {
		t.Errorf("DKIMKeys: got %v, %v, want %v", got, err, want)
	}
	of, err := s.DKIMKeysOf(ctx, "B.example")
	if got, want := ids(of), []int64{a2.ID, a1.ID}; err != nil || !slices.Equal(got, want) {
		t.Errorf("DKIMKeysOf: got %v, %v, want %v", got, err, want)
	}
	if err := s.DeleteDKIMKey(ctx, a2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DKIMKey(ctx, a2.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted key: got %v, want ErrNotFound", err)
	}
	if err := s.DeleteDKIMKey(ctx, a2.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting twice: got %v, want ErrNotFound", err)
	}
	if k, err := s.SigningKey(ctx, "b.example"); err != nil || k.ID != a1.ID {
		t.Errorf("SigningKey after delete: got %+v, %v, want key %d", k, err, a1.ID)
	}
}

func TestDKIMKeyUnderAnotherSecretKeyIsUnreadable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openStoreAt(t, dir, testBox(t))
	k := addDKIM(t, s, newDKIM("example.com", "herald1", DKIMRSA))
	s.Close()
	other, err := NewSecretBox([]byte("fedcba9876543210fedcba9876543210"))
	if err != nil {
		t.Fatal(err)
	}
	s = openStoreAt(t, dir, other)
	ctx := context.Background()
	if _, err := s.DKIMPrivateKey(ctx, k.ID); !errors.Is(err, ErrSecretUnreadable) {
		t.Errorf("DKIMPrivateKey: got %v, want ErrSecretUnreadable", err)
	}
	if _, err := s.SigningKey(ctx, "example.com"); !errors.Is(err, ErrSecretUnreadable) {
		t.Errorf("SigningKey: got %v, want ErrSecretUnreadable", err)
	}
	if got, err := s.DKIMKey(ctx, k.ID); err != nil || got.DNSValue != k.DNSValue {
		t.Errorf("DKIMKey: got %+v, %v, want the key's public part", got, err)
	}
}
