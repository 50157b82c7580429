package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// throttleWindow is how long a failed sign-in is remembered.
const throttleWindow = 15 * time.Minute

// maxLockout caps how long one key can be locked out.
const maxLockout = time.Hour

// LoginLockedUntil returns the latest time until which any of the keys is locked
// out, or the zero time when none is.
func (s *Store) LoginLockedUntil(ctx context.Context, keys ...string) (time.Time, error) {
	var until time.Time
	for _, k := range keys {
		var v int64
		err := s.r.QueryRowContext(ctx, `SELECT locked_until FROM login_throttle WHERE key = ?`, k).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("store: login throttle %s: %w", k, err)
		}
		if t := fromUnix(v); t.After(s.now()) && t.After(until) {
			until = t
		}
	}
	return until, nil
}

// LoginFailed records a failed sign-in against key. Once key has failed limit
// times within the window it is locked out for a minute, and each further
// failure doubles that, up to an hour.
func (s *Store) LoginFailed(ctx context.Context, key string, limit int) error {
	now := s.now()
	return s.Tx(ctx, func(tx *sql.Tx) error {
		var failures int
		var last, lockedUntil int64
		err := tx.QueryRowContext(ctx, `SELECT failures, last_failure, locked_until FROM login_throttle WHERE key = ?`, key).
			Scan(&failures, &last, &lockedUntil)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: login throttle %s: %w", key, err)
		}
		// The window runs from the last failure or the end of the lockout,
		// whichever is later, so long lockouts still escalate.
		if errors.Is(err, sql.ErrNoRows) || now.Sub(fromUnix(max(last, lockedUntil))) > throttleWindow {
			failures = 0
		}
		failures++
		var locked time.Time
		if failures >= limit {
			lock := time.Minute << min(failures-limit, 6)
			locked = now.Add(min(lock, maxLockout))
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO login_throttle (key, failures, last_failure, locked_until) VALUES (?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, last_failure = excluded.last_failure, locked_until = excluded.locked_until`,
			key, failures, unix(now), unix(locked))
		if err != nil {
			return fmt.Errorf("store: record login failure: %w", err)
		}
		return nil
	})
}

// LoginSucceeded forgets the failures recorded against key.
func (s *Store) LoginSucceeded(ctx context.Context, key string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM login_throttle WHERE key = ?`, key); err != nil {
		return fmt.Errorf("store: clear login throttle: %w", err)
	}
	return nil
}
