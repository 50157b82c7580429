package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// API key scopes. Every API route needs exactly one of them.
const (
	// ScopeRead allows reading the audience, content and results.
	ScopeRead = "read"
	// ScopeWrite allows changing them: contacts, lists, templates,
	// campaigns, imports, events.
	ScopeWrite = "write"
	// ScopeSend allows sending transactional mail, and nothing else: the
	// key a shop's server holds.
	ScopeSend = "send"
	// ScopeAdmin allows the install's settings, relays, domains, keys,
	// users and webhooks.
	ScopeAdmin = "admin"
	// ScopeFull is not stored: it is written for all four at once.
	ScopeFull = "full"
)

// Scopes lists the scopes a key can have.
var Scopes = []string{ScopeRead, ScopeWrite, ScopeSend, ScopeAdmin}

// RateLimits are API requests a second a key may make, by class: reads
// (GET), writes (every other method) and transactional sends. On a key,
// zero takes the install's limit.
type RateLimits struct {
	Read  int `json:"read"`
	Write int `json:"write"`
	Send  int `json:"send"`
}

// DefaultRateLimits are the install's limits until Settings change them.
var DefaultRateLimits = RateLimits{Read: 100, Write: 50, Send: 50}

// maxRate is the highest limit a class can have.
const maxRate = 100_000

// Or fills l's unset classes from def.
func (l RateLimits) Or(def RateLimits) RateLimits {
	return RateLimits{Read: cmp.Or(l.Read, def.Read), Write: cmp.Or(l.Write, def.Write), Send: cmp.Or(l.Send, def.Send)}
}

// validate reports what is wrong with l under field names prefix+class;
// zero is allowed when unset is.
func (l RateLimits) validate(prefix string, unset bool, errs map[string]string) {
	low := 1
	if unset {
		low = 0
	}
	for name, v := range map[string]int{"read": l.Read, "write": l.Write, "send": l.Send} {
		if v < low || v > maxRate {
			errs[prefix+name] = fmt.Sprintf("Give requests a second from %d to %d.", low, maxRate)
			if unset {
				errs[prefix+name] += " 0 takes the install's limit."
			}
		}
	}
}

// APIKeyPrefix starts every key, so a leaked key is easy to recognise.
const APIKeyPrefix = "herald_"

// APIKey is a bearer credential for the REST API.
type APIKey struct {
	ID     int64
	Name   string
	Prefix string
	Scopes []string
	// Limits override the install's rate limits for this key.
	Limits     RateLimits
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
	Limits RateLimits
}

// normalize trims the name and writes "full" as the four scopes, in the
// order of Scopes, each once.
func (k *NewAPIKey) normalize() {
	k.Name = strings.TrimSpace(k.Name)
	var out []string
	for _, sc := range Scopes {
		if slices.Contains(k.Scopes, sc) || slices.Contains(k.Scopes, ScopeFull) {
			out = append(out, sc)
		}
	}
	for _, sc := range k.Scopes {
		if sc != ScopeFull && !slices.Contains(Scopes, sc) {
			out = append(out, sc) // for Validate to name
		}
	}
	k.Scopes = out
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
		errs["scopes"] = "Choose at least one scope: read, write, send or admin."
	}
	for _, sc := range k.Scopes {
		if sc != ScopeFull && !slices.Contains(Scopes, sc) {
			errs["scopes"] = fmt.Sprintf("Unknown scope %q: use read, write, send, admin, or full for all four.", sc)
		}
	}
	k.Limits.validate("limits.", true, errs)
	return errs
}

func apiKeyHash(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

// CreateAPIKey stores a new key and returns it with its secret, which is shown
// once: only its prefix and a hash are kept.
func (s *Store) CreateAPIKey(ctx context.Context, nk NewAPIKey) (APIKey, string, error) {
	nk.normalize()
	if errs := nk.Validate(); len(errs) > 0 {
		return APIKey{}, "", &ValidationError{Fields: errs}
	}
	prefix := APIKeyPrefix + randomToken(5)
	secret := prefix + "_" + randomToken(20)
	now := s.now()
	res, err := s.w.ExecContext(ctx,
		`INSERT INTO api_keys (name, prefix, key_hash, scopes, rate_read, rate_write, rate_send, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		nk.Name, prefix, apiKeyHash(secret), strings.Join(nk.Scopes, " "), nk.Limits.Read, nk.Limits.Write, nk.Limits.Send, unix(now))
	if err != nil {
		return APIKey{}, "", fmt.Errorf("store: create api key: %w", err)
	}
	id, _ := res.LastInsertId()
	return APIKey{ID: id, Name: nk.Name, Prefix: prefix, Scopes: nk.Scopes, Limits: nk.Limits, CreatedAt: now.UTC()}, secret, nil
}

const apiKeyColumns = `id, name, prefix, scopes, rate_read, rate_write, rate_send, created_at, last_used_at, revoked_at`

func scanAPIKey(row scanner) (APIKey, error) {
	k, _, err := scanAPIKeyHash(row, false)
	return k, err
}

// scanAPIKeyHash scans apiKeyColumns, and key_hash after them when withHash.
func scanAPIKeyHash(row scanner, withHash bool) (APIKey, []byte, error) {
	var k APIKey
	var scopes string
	var created int64
	var used, revoked sql.NullInt64
	var hash []byte
	dst := []any{&k.ID, &k.Name, &k.Prefix, &scopes, &k.Limits.Read, &k.Limits.Write, &k.Limits.Send, &created, &used, &revoked}
	if withHash {
		dst = append(dst, &hash)
	}
	if err := row.Scan(dst...); err != nil {
		return k, nil, err
	}
	k.Scopes = strings.Fields(scopes)
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = fromUnix(created), fromNullUnix(used), fromNullUnix(revoked)
	return k, hash, nil
}

// APIKey returns one key, revoked or not.
func (s *Store) APIKey(ctx context.Context, id int64) (APIKey, error) {
	return queryOne(ctx, s, "api key", scanAPIKey, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = ?`, id)
}

// SetAPIKeyLimits changes a key's own rate limits; zero takes the install's.
func (s *Store) SetAPIKeyLimits(ctx context.Context, id int64, l RateLimits) (APIKey, error) {
	errs := map[string]string{}
	l.validate("limits.", true, errs)
	if len(errs) > 0 {
		return APIKey{}, &ValidationError{Fields: errs}
	}
	res, err := s.w.ExecContext(ctx, `UPDATE api_keys SET rate_read = ?, rate_write = ?, rate_send = ? WHERE id = ?`, l.Read, l.Write, l.Send, id)
	if err != nil {
		return APIKey{}, fmt.Errorf("store: api key %d limits: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return APIKey{}, ErrNotFound
	}
	return s.APIKey(ctx, id)
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
	row := s.r.QueryRowContext(ctx, `SELECT `+apiKeyColumns+`, key_hash FROM api_keys WHERE prefix = ?`, secret[:i])
	k, hash, err := scanAPIKeyHash(row, true)
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, ErrNotFound
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("store: api key: %w", err)
	}
	if k.Revoked() || !constantTimeEqual(string(hash), string(apiKeyHash(secret))) {
		return APIKey{}, ErrNotFound
	}
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
