package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// API key scopes.
const (
	// ScopeFull allows every API call.
	ScopeFull = "full"
	// ScopeRead allows only calls that change nothing (GET).
	ScopeRead = "read"
)

// Scopes lists the scopes a key can have.
var Scopes = []string{ScopeFull, ScopeRead}

// APIKeyPrefix starts every key, so a leaked key is easy to recognise.
const APIKeyPrefix = "herald_"

// APIKey is a bearer credential for the REST API.
type APIKey struct {
	ID         int64
	Name       string
	Prefix     string
	Scopes     []string
	CreatedAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time
}

// Revoked reports whether the key can no longer be used.
func (k APIKey) Revoked() bool { return !k.RevokedAt.IsZero() }

// HasScope reports whether the key carries scope.
func (k APIKey) HasScope(scope string) bool { return slices.Contains(k.Scopes, scope) }

// NewAPIKey is what it takes to create a key.
type NewAPIKey struct {
	Name   string
	Scopes []string
}

// Validate reports what is wrong with k, keyed by field name.
func (k NewAPIKey) Validate() map[string]string {
	errs := map[string]string{}
	if strings.TrimSpace(k.Name) == "" {
		errs["name"] = "Give the key a name that says where it is used, like \"Shop\"."
	} else if len(k.Name) > 100 {
		errs["name"] = "Use at most 100 characters."
	}
	if len(k.Scopes) == 0 {
		errs["scopes"] = "Choose a scope: full or read."
	}
	for _, sc := range k.Scopes {
		if !slices.Contains(Scopes, sc) {
			errs["scopes"] = fmt.Sprintf("Unknown scope %q: use full or read.", sc)
		}
	}
	return errs
}

func apiKeyHash(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

// CreateAPIKey stores a new key and returns it with its secret, which is shown
// once: only its prefix and a hash are kept.
func (s *Store) CreateAPIKey(ctx context.Context, nk NewAPIKey) (APIKey, string, error) {
	nk.Name = strings.TrimSpace(nk.Name)
	if errs := nk.Validate(); len(errs) > 0 {
		return APIKey{}, "", &ValidationError{Fields: errs}
	}
	prefix := APIKeyPrefix + randomToken(5)
	secret := prefix + "_" + randomToken(20)
	now := s.now()
	res, err := s.w.ExecContext(ctx,
		`INSERT INTO api_keys (name, prefix, key_hash, scopes, created_at) VALUES (?, ?, ?, ?, ?)`,
		nk.Name, prefix, apiKeyHash(secret), strings.Join(nk.Scopes, " "), unix(now))
	if err != nil {
		return APIKey{}, "", fmt.Errorf("store: create api key: %w", err)
	}
	id, _ := res.LastInsertId()
	return APIKey{ID: id, Name: nk.Name, Prefix: prefix, Scopes: nk.Scopes, CreatedAt: now.UTC()}, secret, nil
}

const apiKeyColumns = `id, name, prefix, scopes, created_at, last_used_at, revoked_at`

func scanAPIKey(row scanner) (APIKey, error) {
	var k APIKey
	var scopes string
	var created int64
	var used, revoked sql.NullInt64
	if err := row.Scan(&k.ID, &k.Name, &k.Prefix, &scopes, &created, &used, &revoked); err != nil {
		return k, err
	}
	k.Scopes = strings.Fields(scopes)
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = fromUnix(created), fromNullUnix(used), fromNullUnix(revoked)
	return k, nil
}

// APIKeys lists every key, newest first, revoked ones included.
func (s *Store) APIKeys(ctx context.Context) ([]APIKey, error) {
	return queryAll(ctx, s, "api keys", scanAPIKey, `SELECT `+apiKeyColumns+` FROM api_keys ORDER BY id DESC`)
}

// AuthenticateAPIKey returns the live key matching secret and records its use.
func (s *Store) AuthenticateAPIKey(ctx context.Context, secret string) (APIKey, error) {
	i := strings.LastIndexByte(secret, '_')
	if !strings.HasPrefix(secret, APIKeyPrefix) || i <= len(APIKeyPrefix) {
		return APIKey{}, ErrNotFound
	}
	var hash []byte
	row := s.r.QueryRowContext(ctx, `SELECT `+apiKeyColumns+`, key_hash FROM api_keys WHERE prefix = ?`, secret[:i])
	var k APIKey
	var scopes string
	var created int64
	var used, revoked sql.NullInt64
	err := row.Scan(&k.ID, &k.Name, &k.Prefix, &scopes, &created, &used, &revoked, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, ErrNotFound
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("store: api key: %w", err)
	}
	if revoked.Valid || !constantTimeEqual(string(hash), string(apiKeyHash(secret))) {
		return APIKey{}, ErrNotFound
	}
	k.Scopes = strings.Fields(scopes)
	k.CreatedAt, k.LastUsedAt = fromUnix(created), fromNullUnix(used)
	now := s.now()
	// Recording every call would put a write on every request; a minute's precision is plenty.
	if now.Sub(k.LastUsedAt) > time.Minute {
		if _, err := s.w.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, unix(now), k.ID); err != nil {
			return APIKey{}, fmt.Errorf("store: touch api key: %w", err)
		}
		k.LastUsedAt = now.UTC()
	}
	return k, nil
}

// RevokeAPIKey stops a key from working. Revoking twice is not an error.
func (s *Store) RevokeAPIKey(ctx context.Context, id int64) error {
	res, err := s.w.ExecContext(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, unix(s.now()), id)
	if err != nil {
		return fmt.Errorf("store: revoke api key %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
