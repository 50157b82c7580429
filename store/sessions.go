package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SessionTTL is how long a session lasts without being used.
const SessionTTL = 14 * 24 * time.Hour

// Session is a signed-in browser.
type Session struct {
	User      User
	ExpiresAt time.Time
}

func sessionHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// CreateSession starts a session for a user and returns its secret token; only
// a hash of the token is stored.
func (s *Store) CreateSession(ctx context.Context, userID int64, ip, userAgent string) (string, time.Time, error) {
	token := randomToken(32)
	now := s.now()
	expires := now.Add(SessionTTL)
	if len(userAgent) > 300 {
		userAgent = userAgent[:300]
	}
	_, err := s.w.ExecContext(ctx,
		`INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		sessionHash(token), userID, unix(now), unix(expires), unix(now), ip, userAgent)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("store: create session: %w", err)
	}
	return token, expires, nil
}

const sessionByToken = `SELECT u.id, u.email, u.name, u.role, u.password_hash, u.created_at, s.expires_at, s.last_seen
FROM sessions s JOIN users u ON u.id = s.user_id
WHERE s.token_hash = ? AND s.expires_at > ?`

// SessionByToken returns the live session for token. A session used more than
// an hour after its last use is extended, so active people stay signed in.
func (s *Store) SessionByToken(ctx context.Context, token string) (Session, error) {
	var sess Session
	var created, expires, lastSeen int64
	u := &sess.User
	now := s.now()
	err := s.r.QueryRowContext(ctx, sessionByToken, sessionHash(token), unix(now)).
		Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &created, &expires, &lastSeen)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, fmt.Errorf("store: session: %w", err)
	}
	u.CreatedAt = fromUnix(created)
	sess.ExpiresAt = fromUnix(expires)
	if now.Sub(fromUnix(lastSeen)) > time.Hour {
		sess.ExpiresAt = now.Add(SessionTTL).UTC()
		_, err := s.w.ExecContext(ctx, `UPDATE sessions SET last_seen = ?, expires_at = ? WHERE token_hash = ?`,
			unix(now), unix(sess.ExpiresAt), sessionHash(token))
		if err != nil {
			return Session{}, fmt.Errorf("store: extend session: %w", err)
		}
	}
	return sess, nil
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, sessionHash(token)); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// DeleteExpired removes expired sessions, login throttles that have lapsed
// and idempotency keys past their day, and returns how many rows went.
func (s *Store) DeleteExpired(ctx context.Context) (int64, error) {
	now := s.now()
	var total int64
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, unix(now))
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		total += n
		res, err = tx.ExecContext(ctx, `DELETE FROM login_throttle WHERE locked_until <= ? AND last_failure <= ?`,
			unix(now.Add(-throttleWindow)), unix(now.Add(-throttleWindow)))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		total += n
		res, err = tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at <= ?`, unix(now.Add(-IdempotencyTTL)))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		total += n
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete expired: %w", err)
	}
	return total, nil
}
