package store

import (
	"context"
	"testing"
	"time"
)

func lockedUntil(t *testing.T, s *Store, keys ...string) time.Time {
	t.Helper()
	until, err := s.LoginLockedUntil(context.Background(), keys...)
	if err != nil {
		t.Fatalf("LoginLockedUntil: %v", err)
	}
	return until
}

func fail(t *testing.T, s *Store, key string, limit int) {
	t.Helper()
	if err := s.LoginFailed(context.Background(), key, limit); err != nil {
		t.Fatalf("LoginFailed: %v", err)
	}
}

func TestLoginThrottleLocksAndDoubles(t *testing.T) {
	t.Parallel()
	s, clock := openTestStore(t)
	const key, limit = "account:ann@example.com", 3

	for i := 1; i < limit; i++ {
		fail(t, s, key, limit)
		if got := lockedUntil(t, s, key); !got.IsZero() {
			t.Fatalf("after %d failures: got locked until %v, want not locked", i, got)
		}
	}
	if got := lockedUntil(t, s); !got.IsZero() {
		t.Errorf("no keys: got %v, want zero", got)
	}

	fail(t, s, key, limit)
	if got, want := lockedUntil(t, s, key), clock.now().Add(time.Minute); !got.Equal(want) {
		t.Errorf("at the limit: got %v, want %v", got, want)
	}
	if got := lockedUntil(t, s, "account:other@example.com"); !got.IsZero() {
		t.Errorf("other key: got %v, want not locked", got)
	}

	for _, lock := range []time.Duration{2 * time.Minute, 4 * time.Minute, 8 * time.Minute} {
		clock.advance(10 * time.Second)
		fail(t, s, key, limit)
		if got, want := lockedUntil(t, s, key), clock.now().Add(lock); !got.Equal(want) {
			t.Errorf("further failure: got %v, want %v", got, want)
		}
	}

	// The lock lapses on its own.
	clock.advance(8*time.Minute + time.Second)
	if got := lockedUntil(t, s, key); !got.IsZero() {
		t.Errorf("after the lock: got %v, want not locked", got)
	}
}

func TestLoginThrottleCap(t *testing.T) {
	t.Parallel()
	s, clock := openTestStore(t)
	const key = "ip:192.0.2.1"
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	for i, w := range want {
		fail(t, s, key, 1)
		if got, want := lockedUntil(t, s, key), clock.now().Add(w*time.Minute); !got.Equal(want) {
			t.Errorf("failure %d: got %v, want %v", i+1, got, want)
		}
	}
}

func TestLoginThrottleSeveralKeys(t *testing.T) {
	t.Parallel()
	s, clock := openTestStore(t)
	fail(t, s, "account:a", 1)
	fail(t, s, "ip:b", 1)
	fail(t, s, "ip:b", 1)
	if got, want := lockedUntil(t, s, "account:a", "ip:b", "ip:unknown"), clock.now().Add(2*time.Minute); !got.Equal(want) {
		t.Errorf("latest lock of several keys: got %v, want %v", got, want)
	}
}

func TestLoginSucceededClears(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	const key, limit = "account:ann@example.com", 3
	for range limit {
		fail(t, s, key, limit)
	}
	if lockedUntil(t, s, key).IsZero() {
		t.Fatalf("after %d failures: got not locked, want locked", limit)
	}
	if err := s.LoginSucceeded(ctx, key); err != nil {
		t.Fatalf("LoginSucceeded: %v", err)
	}
	if got := lockedUntil(t, s, key); !got.IsZero() {
		t.Errorf("after success: got locked until %v, want not locked", got)
	}
	// The count starts again from zero.
	for i := 1; i < limit; i++ {
		fail(t, s, key, limit)
		if got := lockedUntil(t, s, key); !got.IsZero() {
			t.Errorf("failure %d after success: got locked until %v, want not locked", i, got)
		}
	}
}

func TestLoginThrottleWindow(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		gap    time.Duration
		locked bool
	}{
		{"within the window", 14 * time.Minute, true},
		{"at the window", throttleWindow, true},
		{"after the window", throttleWindow + time.Second, false},
		{"long after", 24 * time.Hour, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, clock := openTestStore(t)
			const key, limit = "account:ann@example.com", 3
			fail(t, s, key, limit)
			fail(t, s, key, limit)
			clock.advance(tc.gap)
			fail(t, s, key, limit)
			if got := !lockedUntil(t, s, key).IsZero(); got != tc.locked {
				t.Errorf("locked: got %v, want %v", got, tc.locked)
			}
			if !tc.locked {
				if got := countRows(t, s, `SELECT failures FROM login_throttle WHERE key = ?`, key); got != 1 {
					t.Errorf("failures after reset: got %v, want 1", got)
				}
			}
		})
	}
}

func TestDeleteExpiredThrottles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock := openTestStore(t)
	fail(t, s, "old", 1) // locked for a minute
	clock.advance(time.Minute + throttleWindow)
	fail(t, s, "recent", 10)
	clock.advance(time.Second)

	n, err := s.DeleteExpired(ctx)
	if err != nil {
		t.Fatalf("DeleteExpired: %v", err)
	}
	if n != 1 {
		t.Errorf("DeleteExpired count: got %v, want 1", n)
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM login_throttle WHERE key = 'old'`); got != 0 {
		t.Errorf("lapsed throttle rows: got %v, want 0", got)
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM login_throttle WHERE key = 'recent'`); got != 1 {
		t.Errorf("recent throttle rows: got %v, want 1", got)
	}
}

// TestLockoutsEscalateWhenEachFailureWaitsOutTheLock follows an attacker who
// waits out every lockout and fails once more: locks must keep doubling up to
// the cap, even once they outlast the 15-minute window.
func TestLockoutsEscalateWhenEachFailureWaitsOutTheLock(t *testing.T) {
	t.Parallel()
	s, clock := openTestStore(t)
	const key, limit = "account:patient@example.com", 5
	for i := 0; i < limit; i++ {
		fail(t, s, key, limit)
	}
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour}
	for i, w := range want {
		until := lockedUntil(t, s, key)
		if got := until.Sub(s.now()); got != w {
			t.Fatalf("lockout %d: got %v, want %v", i+1, got, w)
		}
		clock.advance(w + time.Second)
		if !lockedUntil(t, s, key).IsZero() {
			t.Fatalf("lockout %d still in force after it ended", i+1)
		}
		fail(t, s, key, limit)
	}
}
