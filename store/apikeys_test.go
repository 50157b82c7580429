package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func createTestKey(t *testing.T, s *Store, name string, scopes ...string) (APIKey, string) {
	t.Helper()
	k, secret, err := s.CreateAPIKey(context.Background(), NewAPIKey{Name: name, Scopes: scopes})
	if err != nil {
		t.Fatalf("CreateAPIKey(%s): %v", name, err)
	}
	return k, secret
}

func TestCreateAPIKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	k, secret := createTestKey(t, s, "  Shop  ", ScopeRead)
	if !strings.HasPrefix(secret, APIKeyPrefix) {
		t.Errorf("secret: got %q, want it to start with %q", secret, APIKeyPrefix)
	}
	if !strings.HasPrefix(k.Prefix, APIKeyPrefix) || !strings.HasPrefix(secret, k.Prefix+"_") || len(secret) <= len(k.Prefix)+1 {
		t.Errorf("secret %q and prefix %q: want the secret to be the prefix, '_' and more", secret, k.Prefix)
	}
	if k.ID == 0 || k.Name != "Shop" || !k.HasScope(ScopeRead) || k.HasScope(ScopeFull) || k.Revoked() || !k.LastUsedAt.IsZero() {
		t.Errorf("key: got %+v, want named Shop, read scope only, live, never used", k)
	}
	keys, err := s.APIKeys(ctx)
	if err != nil {
		t.Fatalf("APIKeys: %v", err)
	}
	if len(keys) != 1 || keys[0].ID != k.ID || keys[0].Prefix != k.Prefix || keys[0].Name != "Shop" || !keys[0].CreatedAt.Equal(testStart) {
		t.Errorf("APIKeys: got %+v, want the one key created at %v", keys, testStart)
	}

	_, other := createTestKey(t, s, "Other", ScopeFull)
	if other == secret {
		t.Errorf("two secrets: got equal, want different")
	}
}

func TestAuthenticateAPIKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	k, secret := createTestKey(t, s, "Shop", ScopeFull, ScopeRead)
	other, otherSecret := createTestKey(t, s, "Other", ScopeRead)

	got, err := s.AuthenticateAPIKey(ctx, secret)
	if err != nil {
		t.Fatalf("AuthenticateAPIKey: %v", err)
	}
	if got.ID != k.ID || got.Name != "Shop" || !got.HasScope(ScopeAdmin) || !got.HasScope(ScopeSend) || !got.HasScope(ScopeRead) || len(got.Scopes) != 4 {
		t.Errorf("authenticated key: got %+v, want %+v", got, k)
	}
	if got, err := s.AuthenticateAPIKey(ctx, otherSecret); err != nil || got.ID != other.ID {
		t.Errorf("other key: got %+v (%v), want id %v", got, err, other.ID)
	}

	tail := secret[len(k.Prefix)+1:]
	lastChanged := secret[:len(secret)-1] + "a"
	if strings.HasSuffix(secret, "a") {
		lastChanged = secret[:len(secret)-1] + "b"
	}
	bad := map[string]string{
		"empty":                "",
		"garbage":              "not a key",
		"prefix only":          APIKeyPrefix,
		"prefix and one":       APIKeyPrefix + "x",
		"key prefix only":      k.Prefix,
		"key prefix and _":     k.Prefix + "_",
		"last char changed":    lastChanged,
		"extra char":           secret + "a",
		"upper case":           strings.ToUpper(secret),
		"tail with other head": other.Prefix + "_" + tail,
		"tail only":            tail,
		"wrong product prefix": "heraldx" + secret[len(APIKeyPrefix):],
	}
	for name, b := range bad {
		t.Run(name, func(t *testing.T) {
			if got, err := s.AuthenticateAPIKey(ctx, b); !errors.Is(err, ErrNotFound) {
				t.Errorf("AuthenticateAPIKey(%q): got %+v, %v, want %v", b, got, err, ErrNotFound)
			}
		})
	}

	if err := s.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	if _, err := s.AuthenticateAPIKey(ctx, secret); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoked key: got %v, want %v", err, ErrNotFound)
	}
	if _, err := s.AuthenticateAPIKey(ctx, otherSecret); err != nil {
		t.Errorf("other key after revoking one: got %v, want nil", err)
	}
}

func TestRevokeAPIKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock := openTestStore(t)
	k, _ := createTestKey(t, s, "Shop", ScopeFull)
	if err := s.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	revokedAt := clock.now()
	clock.advance(time.Hour)
	if err := s.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Errorf("RevokeAPIKey twice: got %v, want nil", err)
	}
	keys, err := s.APIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || !keys[0].Revoked() || !keys[0].RevokedAt.Equal(revokedAt) {
		t.Errorf("APIKeys after revoke: got %+v, want one key revoked at %v", keys, revokedAt)
	}
	if err := s.RevokeAPIKey(ctx, k.ID+100); !errors.Is(err, ErrNotFound) {
		t.Errorf("RevokeAPIKey on missing id: got %v, want %v", err, ErrNotFound)
	}
}

func TestAPIKeyOnlyHashStored(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	k, secret := createTestKey(t, s, "Shop", ScopeFull)
	tail := secret[len(k.Prefix)+1:]

	rows, err := s.r.Query(`SELECT * FROM api_keys`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			text := fmt.Sprint(v)
			if b, ok := v.([]byte); ok {
				text = string(b)
			}
			if strings.Contains(text, tail) || strings.Contains(text, secret) {
				t.Errorf("column %s: got %q, want neither the secret nor its tail", cols[i], text)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("api_keys rows: got %v, want 1", n)
	}
}

func TestAPIKeyLastUsed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock := openTestStore(t)
	_, secret := createTestKey(t, s, "Shop", ScopeFull)
	lastUsed := func() time.Time {
		t.Helper()
		keys, err := s.APIKeys(ctx)
		if err != nil || len(keys) != 1 {
			t.Fatalf("APIKeys: got %v (%v), want one key", keys, err)
		}
		return keys[0].LastUsedAt
	}

	clock.advance(time.Hour)
	first := clock.now()
	k, err := s.AuthenticateAPIKey(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if !k.LastUsedAt.Equal(first) {
		t.Errorf("returned LastUsedAt: got %v, want %v", k.LastUsedAt, first)
	}
	if got := lastUsed(); !got.Equal(first) {
		t.Errorf("stored last_used_at: got %v, want %v", got, first)
	}

	// Uses within a minute are not written.
	clock.advance(30 * time.Second)
	if _, err := s.AuthenticateAPIKey(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(); !got.Equal(first) {
		t.Errorf("last_used_at after 30s: got %v, want %v", got, first)
	}

	clock.advance(2 * time.Minute)
	if _, err := s.AuthenticateAPIKey(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(); !got.Equal(clock.now()) {
		t.Errorf("last_used_at after 2m30s: got %v, want %v", got, clock.now())
	}
}

func TestCreateAPIKeyValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		nk     NewAPIKey
		fields []string
	}{
		{"empty name", NewAPIKey{Name: "", Scopes: []string{ScopeFull}}, []string{"name"}},
		{"blank name", NewAPIKey{Name: "   ", Scopes: []string{ScopeFull}}, []string{"name"}},
		{"long name", NewAPIKey{Name: strings.Repeat("n", 101), Scopes: []string{ScopeFull}}, []string{"name"}},
		{"no scopes", NewAPIKey{Name: "Shop"}, []string{"scopes"}},
		{"unknown scope", NewAPIKey{Name: "Shop", Scopes: []string{"superuser"}}, []string{"scopes"}},
		{"one unknown of two", NewAPIKey{Name: "Shop", Scopes: []string{ScopeRead, "delete"}}, []string{"scopes"}},
		{"limit below zero", NewAPIKey{Name: "Shop", Scopes: []string{ScopeRead}, Limits: RateLimits{Read: -1}}, []string{"limits.read"}},
		{"scope in other case", NewAPIKey{Name: "Shop", Scopes: []string{"FULL"}}, []string{"scopes"}},
		{"both wrong", NewAPIKey{Name: "", Scopes: nil}, []string{"name", "scopes"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTestStore(t)
			k, secret, err := s.CreateAPIKey(context.Background(), tc.nk)
			sameFields(t, err, tc.fields...)
			if secret != "" || k.ID != 0 {
				t.Errorf("result: got %+v, %q, want nothing", k, secret)
			}
			if got := countRows(t, s, `SELECT COUNT(*) FROM api_keys`); got != 0 {
				t.Errorf("api_keys rows: got %v, want 0", got)
			}
		})
	}
}
