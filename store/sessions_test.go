package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSessionLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	u := createTestUser(t, s, "ann@example.com")

	token, expires, err := s.CreateSession(ctx, u.ID, "192.0.2.1", "Firefox")
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	if token == "" {
		t.Fatalf("token: got empty, want a token")
	}
	if want := testStart.Add(SessionTTL); !expires.Equal(want) {
		t.Errorf("expires: got %v, want %v", expires, want)
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM sessions WHERE token_hash = ? OR CAST(token_hash AS TEXT) = ?`, token, token); got != 0 {
		t.Errorf("rows holding the plain token: got %v, want 0", got)
	}

	sess, err := s.SessionByToken(ctx, token)
	if err != nil {
		t.Fatalf("SessionByToken: %v", err)
	}
	if sess.User != u {
		t.Errorf("session user: got %+v, want %+v", sess.User, u)
	}
	if want := testStart.Add(SessionTTL); !sess.ExpiresAt.Equal(want) {
		t.Errorf("session expires: got %v, want %v", sess.ExpiresAt, want)
	}

	for _, bad := range []string{"", "wrong", token + "x", strings.ToUpper(token)} {
		if _, err := s.SessionByToken(ctx, bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("SessionByToken(%q): got %v, want %v", bad, err, ErrNotFound)
		}
	}

	if err := s.DeleteSession(ctx, token); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	if _, err := s.SessionByToken(ctx, token); !errors.Is(err, ErrNotFound) {
		t.Errorf("SessionByToken after delete: got %v, want %v", err, ErrNotFound)
	}
	if err := s.DeleteSession(ctx, token); err != nil {
		t.Errorf("DeleteSession twice: got %v, want nil", err)
	}
}

func TestSessionTokensDiffer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	u := createTestUser(t, s, "ann@example.com")
	a, _, err := s.CreateSession(ctx, u.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := s.CreateSession(ctx, u.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Errorf("two session tokens: got equal %q, want different", a)
	}
}

func TestSessionUserAgentCut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	u := createTestUser(t, s, "ann@example.com")
	if _, _, err := s.CreateSession(ctx, u.ID, "192.0.2.1", strings.Repeat("a", 1000)); err != nil {
		t.Fatal(err)
	}
	if got := countRows(t, s, `SELECT LENGTH(user_agent) FROM sessions`); got != 300 {
		t.Errorf("stored user agent length: got %v, want 300", got)
	}
}

func TestSessionExpires(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock := openTestStore(t)
	u := createTestUser(t, s, "ann@example.com")
	old, _, err := s.CreateSession(ctx, u.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}

	clock.advance(SessionTTL - time.Second)
	fresh, _, err := s.CreateSession(ctx, u.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Second)

	if _, err := s.SessionByToken(ctx, old); !errors.Is(err, ErrNotFound) {
		t.Errorf("SessionByToken at expiry: got %v, want %v", err, ErrNotFound)
	}
	if _, err := s.SessionByToken(ctx, fresh); err != nil {
		t.Errorf("SessionByToken of fresh session: got %v, want nil", err)
	}

	n, err := s.DeleteExpired(ctx)
	if err != nil {
		t.Fatalf("DeleteExpired: %v", err)
	}
	if n != 1 {
		t.Errorf("DeleteExpired count: got %v, want 1", n)
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM sessions`); got != 1 {
		t.Errorf("sessions left: got %v, want 1", got)
	}
	if _, err := s.SessionByToken(ctx, fresh); err != nil {
		t.Errorf("fresh session after DeleteExpired: got %v, want nil", err)
	}
}

func TestSessionExtendedWhenUsed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock := openTestStore(t)
	u := createTestUser(t, s, "ann@example.com")
	token, _, err := s.CreateSession(ctx, u.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}

	// Within an hour of the last use nothing is written.
	clock.advance(30 * time.Minute)
	sess, err := s.SessionByToken(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if want := testStart.Add(SessionTTL); !sess.ExpiresAt.Equal(want) {
		t.Errorf("expires after 30m: got %v, want %v", sess.ExpiresAt, want)
	}

	clock.advance(2 * time.Hour)
	sess, err = s.SessionByToken(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.now().Add(SessionTTL); !sess.ExpiresAt.Equal(want) {
		t.Errorf("expires after use: got %v, want %v", sess.ExpiresAt, want)
	}

	// Past the first expiry, the extended session still works.
	clock.t = testStart.Add(SessionTTL + time.Minute)
	if _, err := s.SessionByToken(ctx, token); err != nil {
		t.Errorf("SessionByToken past the original expiry: got %v, want nil", err)
	}
}
