package store

import (
	"context"
	"reflect"
	"testing"
	"time"
)

func TestIdempotencyKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock := openTestStore(t)
	k, _ := createTestKey(t, s, "Shop", ScopeWrite)
	other, _ := createTestKey(t, s, "Other", ScopeWrite)
	hash, otherHash := []byte("hash-one"), []byte("hash-two")
	claim := func(keyID int64, idem, path string, h []byte) (Idempotency, Answer) {
		t.Helper()
		state, ans, err := s.ClaimIdempotencyKey(ctx, keyID, idem, "POST", path, h)
		if err != nil {
			t.Fatal(err)
		}
		return state, ans
	}
	if state, _ := claim(k.ID, "order-1", "/api/v1/contacts", hash); state != IdempotencyNew {
		t.Fatalf("first use: got %v, want new", state)
	}
	if state, _ := claim(k.ID, "order-1", "/api/v1/contacts", hash); state != IdempotencyRunning {
		t.Fatalf("while the first runs: got %v, want running", state)
	}
	if state, _ := claim(other.ID, "order-1", "/api/v1/contacts", hash); state != IdempotencyNew {
		t.Fatalf("another key's own use: got %v, want new: keys are per API key", state)
	}
	want := Answer{Status: 201, Headers: map[string]string{"Location": "/api/v1/contacts/7"}, Body: []byte(`{"data":{}}`)}
	if err := s.SaveAnswer(ctx, k.ID, "order-1", want); err != nil {
		t.Fatal(err)
	}
	if state, got := claim(k.ID, "order-1", "/api/v1/contacts", hash); state != IdempotencyReplay || !reflect.DeepEqual(got, want) {
		t.Fatalf("replay: got %v %+v, want the first answer %+v", state, got, want)
	}
	for _, tc := range []struct {
		name, path string
		hash       []byte
	}{{"other body", "/api/v1/contacts", otherHash}, {"other path", "/api/v1/lists", hash}} {
		if state, _ := claim(k.ID, "order-1", tc.path, tc.hash); state != IdempotencyMismatch {
			t.Errorf("%s: got %v, want mismatch", tc.name, state)
		}
	}

	// A request that failed on Herald's side is released; one whose process
	// died is taken over after a while.
	claim(k.ID, "order-2", "/api/v1/contacts", hash)
	if err := s.ReleaseIdempotencyKey(ctx, k.ID, "order-2"); err != nil {
		t.Fatal(err)
	}
	if state, _ := claim(k.ID, "order-2", "/api/v1/contacts", otherHash); state != IdempotencyNew {
		t.Fatalf("after release: got %v, want new", state)
	}
	clock.advance(idempotencyAbandoned + time.Second)
	if state, _ := claim(k.ID, "order-2", "/api/v1/contacts", otherHash); state != IdempotencyNew {
		t.Fatalf("abandoned: got %v, want new", state)
	}

	// A day on, the answer is gone and the key is new again.
	clock.advance(IdempotencyTTL)
	if _, err := s.DeleteExpired(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, `SELECT COUNT(*) FROM idempotency_keys WHERE key = 'order-1'`); n != 0 {
		t.Errorf("rows a day old: got %d, want them deleted", n)
	}
	if state, _ := claim(k.ID, "order-1", "/api/v1/lists", otherHash); state != IdempotencyNew {
		t.Fatalf("a day on: got %v, want new", state)
	}
}

func TestAPIKeyLimits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	k, secret, err := s.CreateAPIKey(ctx, NewAPIKey{Name: "Shop", Scopes: []string{ScopeSend}, Limits: RateLimits{Send: 5}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.AuthenticateAPIKey(ctx, secret)
	if err != nil || got.Limits != (RateLimits{Send: 5}) || got.Limits.Or(DefaultRateLimits) != (RateLimits{Read: 100, Write: 50, Send: 5}) {
		t.Fatalf("limits: got %+v (%v), want send 5, the rest the install's", got.Limits, err)
	}
	if _, err := s.SetAPIKeyLimits(ctx, k.ID, RateLimits{Read: 1, Write: 2, Send: 100_001}); err == nil {
		t.Fatal("a limit over the maximum: got no error")
	}
	got, err = s.SetAPIKeyLimits(ctx, k.ID, RateLimits{Read: 1, Write: 2})
	if err != nil || got.Limits != (RateLimits{Read: 1, Write: 2}) {
		t.Fatalf("SetAPIKeyLimits: got %+v (%v)", got.Limits, err)
	}
	if _, err := s.SetAPIKeyLimits(ctx, k.ID+10, RateLimits{}); err != ErrNotFound {
		t.Fatalf("unknown key: got %v, want ErrNotFound", err)
	}
}

// TestMigrationFullKeysGetEveryScope: a key made with "full" before the
// four scopes keeps every power it had.
func TestMigrationFullKeysGetEveryScope(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w, s, all := unmigrated(t)
	for _, m := range all {
		if m.version == 21 {
			if _, err := w.Exec(`INSERT INTO api_keys (id, name, prefix, key_hash, scopes, created_at)
VALUES (1, 'Shop', 'herald_a', x'00', 'full', 1), (2, 'Report', 'herald_b', x'00', 'read', 1)`); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.apply(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	s.r = w
	keys, err := s.APIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || !reflect.DeepEqual(keys[1].Scopes, Scopes) || !reflect.DeepEqual(keys[0].Scopes, []string{ScopeRead}) {
		t.Fatalf("keys after the migration: got %+v, want Shop with every scope and Report read only", keys)
	}
}

// TestIdempotentAnswersAreSealed: an answer kept for replay, which may
// carry a secret shown once, is not stored in the clear.
func TestIdempotentAnswersAreSealed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	k, _ := createTestKey(t, s, "Admin", ScopeAdmin)
	if _, _, err := s.ClaimIdempotencyKey(ctx, k.ID, "new-key", "POST", "/api/v1/api-keys", []byte("h")); err != nil {
		t.Fatal(err)
	}
	secret := `{"data":{"secret":"herald_abc_supersecret"}}`
	if err := s.SaveAnswer(ctx, k.ID, "new-key", Answer{Status: 201, Body: []byte(secret)}); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, `SELECT count(*) FROM idempotency_keys WHERE instr(body, 'supersecret') > 0`); n != 0 {
		t.Fatalf("the secret is stored in the clear")
	}
	if _, ans, _ := s.ClaimIdempotencyKey(ctx, k.ID, "new-key", "POST", "/api/v1/api-keys", []byte("h")); string(ans.Body) != secret {
		t.Fatalf("replay: got %q", ans.Body)
	}
}
