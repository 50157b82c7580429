package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// IdempotencyTTL is how long the first answer to a request sent with an
// Idempotency-Key is kept for its retries.
const IdempotencyTTL = 24 * time.Hour

// idempotencyAbandoned is how long a request may be running before a retry
// with its key may take it over: the process that ran it died.
const idempotencyAbandoned = 5 * time.Minute

// Answer is an HTTP answer as it was first given.
type Answer struct {
	Status  int
	Headers map[string]string
	Body    []byte
}

// Idempotency is what a key's earlier use says about a request that repeats it.
type Idempotency int

const (
	// IdempotencyNew: the key is new, or its last use was abandoned; the
	// request is to run, and its answer to be saved with SaveAnswer.
	IdempotencyNew Idempotency = iota
	// IdempotencyReplay: the same request was answered; give that answer.
	IdempotencyReplay
	// IdempotencyRunning: the same request is running now.
	IdempotencyRunning
	// IdempotencyMismatch: the key was used for a different request.
	IdempotencyMismatch
)

// ClaimIdempotencyKey looks up idemKey of API key keyID for the request
// method path with a body whose hash is bodyHash. A new key is claimed for
// this request in the same transaction, so two concurrent requests with one
// key cannot both run.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, keyID int64, idemKey, method, path string, bodyHash []byte) (Idempotency, Answer, error) {
	var state Idempotency
	var ans Answer
	now := s.now()
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var m, p, headers string
		var hash, body []byte
		var status int
		var created int64
		err := tx.QueryRowContext(ctx, `SELECT method, path, body_hash, status, headers, body, created_at FROM idempotency_keys
			WHERE api_key_id = ? AND key = ?`, keyID, idemKey).Scan(&m, &p, &hash, &status, &headers, &body, &created)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case fromUnix(created).Add(IdempotencyTTL).Before(now):
		case m != method || p != path || !bytes.Equal(hash, bodyHash):
			state = IdempotencyMismatch
			return nil
		case status != 0:
			// Answers are kept sealed: some carry a secret shown once, like
			// a new API key's.
			opened, err := s.box.Open(body)
			if err != nil {
				return err
			}
			state, ans = IdempotencyReplay, Answer{Status: status, Body: []byte(opened)}
			return json.Unmarshal([]byte(headers), &ans.Headers)
		case fromUnix(created).Add(idempotencyAbandoned).After(now):
			state = IdempotencyRunning
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO idempotency_keys (api_key_id, key, method, path, body_hash, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, keyID, idemKey, method, path, bodyHash, unix(now))
		return err
	})
	if err != nil {
		return 0, Answer{}, fmt.Errorf("store: idempotency key: %w", err)
	}
	return state, ans, nil
}

// SaveAnswer keeps the answer to the request that claimed idemKey, its
// body sealed with the store's secret box.
func (s *Store) SaveAnswer(ctx context.Context, keyID int64, idemKey string, a Answer) error {
	headers, err := json.Marshal(a.Headers)
	if err != nil {
		return err
	}
	sealed, err := s.box.Seal(string(a.Body))
	if err != nil {
		return err
	}
	_, err = s.w.ExecContext(ctx, `UPDATE idempotency_keys SET status = ?, headers = ?, body = ? WHERE api_key_id = ? AND key = ?`,
		a.Status, string(headers), sealed, keyID, idemKey)
	if err != nil {
		return fmt.Errorf("store: save idempotent answer: %w", err)
	}
	return nil
}

// ReleaseIdempotencyKey forgets a claim whose request failed on Herald's
// side, so that a retry runs again.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, keyID int64, idemKey string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE api_key_id = ? AND key = ? AND status = 0`, keyID, idemKey)
	if err != nil {
		return fmt.Errorf("store: release idempotency key: %w", err)
	}
	return nil
}
