package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"herald/mailer/addr"
)

// DKIM key algorithms, as stored on a key.
const (
	DKIMRSA     = "rsa"
	DKIMEd25519 = "ed25519"
)

// DKIMKey is a stored DKIM signing key without its private part, which stays
// sealed until DKIMPrivateKey or SigningKey opens it.
type DKIMKey struct {
	ID        int64
	Domain    string
	Selector  string
	Algorithm string
	// DNSValue is the TXT record to publish at DNSName.
	DNSValue  string
	Enabled   bool
	CreatedAt time.Time
}

// DNSName returns the name at which the key's TXT record is published.
func (k DKIMKey) DNSName() string {
	return k.Selector + "._domainkey." + k.Domain
}

// NewDKIMKey is a freshly generated key to store.
type NewDKIMKey struct {
	Domain     string
	Selector   string
	Algorithm  string
	PrivatePEM string
	DNSValue   string
}

// SigningKey is what signing mail for a domain needs: the key's names and
// its private key as PEM.
type SigningKey struct {
	ID         int64
	Domain     string
	Selector   string
	Algorithm  string
	PrivatePEM string
}

// NormalizeDKIMName trims a domain or selector, drops a trailing dot (as
// zone files write names) and lower-cases it, as keys are stored; a domain
// is written in its xn-- form, the one DNS and the d= tag use.
func NormalizeDKIMName(s string) string {
	return normalizeDomain(s)
}

func (in *NewDKIMKey) normalize() {
	in.Domain = NormalizeDKIMName(in.Domain)
	in.Selector = NormalizeDKIMName(in.Selector)
	in.Algorithm = strings.ToLower(strings.TrimSpace(in.Algorithm))
}

// Validate reports what is wrong with the key's names, keyed by API field
// name; the PEM and DNS value are the generator's and only checked for
// presence.
func (in NewDKIMKey) Validate() map[string]string {
	errs := map[string]string{}
	if msg := CheckDKIMDomain(in.Domain); msg != "" {
		errs["domain"] = msg
	}
	if !addr.IsLabel(in.Selector) {
		errs["selector"] = "Use up to 63 letters, digits and dashes, like herald1."
	}
	if in.Algorithm != DKIMRSA && in.Algorithm != DKIMEd25519 {
		errs["algorithm"] = "Choose rsa (RSA-2048) or ed25519."
	}
	if len(errs) == 0 && (in.PrivatePEM == "" || in.DNSValue == "") {
		errs["key"] = "The key is missing: generate it before storing it."
	}
	return errs
}

// CheckDKIMDomain returns what is wrong with a sending domain, or "".
func CheckDKIMDomain(domain string) string {
	if domain == "" {
		return "Enter the domain your from addresses use, like example.com."
	}
	return checkDomain(domain)
}

const dkimColumns = `id, domain, selector, algorithm, dns_value, enabled, created_at`

func scanDKIMKey(row scanner) (DKIMKey, error) {
	var k DKIMKey
	var created int64
	err := row.Scan(&k.ID, &k.Domain, &k.Selector, &k.Algorithm, &k.DNSValue, &k.Enabled, &created)
	k.CreatedAt = fromUnix(created)
	return k, err
}

// AddDKIMKey validates and stores a generated key, sealing its private part.
// A domain has one key per selector.
func (s *Store) AddDKIMKey(ctx context.Context, in NewDKIMKey) (DKIMKey, error) {
	in.normalize()
	if errs := in.Validate(); len(errs) > 0 {
		return DKIMKey{}, &ValidationError{Fields: errs}
	}
	enc, err := s.box.Seal(in.PrivatePEM)
	if err != nil {
		return DKIMKey{}, fmt.Errorf("store: seal DKIM key: %w", err)
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO dkim_keys (domain, selector, algorithm, private_enc, dns_value, enabled, created_at)
VALUES (?, ?, ?, ?, ?, 1, ?)`, in.Domain, in.Selector, in.Algorithm, enc, in.DNSValue, unix(s.now()))
	if isUniqueViolation(err) {
		return DKIMKey{}, conflict("a DKIM key with the selector %s already exists for %s: choose another selector, like %s",
			in.Selector, in.Domain, nextSelector(in.Selector))
	}
	if err != nil {
		return DKIMKey{}, fmt.Errorf("store: add DKIM key for %s: %w", in.Domain, err)
	}
	id, _ := res.LastInsertId()
	return s.DKIMKey(ctx, id)
}

// nextSelector suggests a selector after sel: herald1 gives herald2.
func nextSelector(sel string) string {
	prefix := strings.TrimRight(sel, "0123456789")
	n, _ := strconv.Atoi(sel[len(prefix):])
	return prefix + strconv.Itoa(n+1)
}

// DKIMKeys lists every key by domain, newest first within a domain.
func (s *Store) DKIMKeys(ctx context.Context) ([]DKIMKey, error) {
	return queryAll(ctx, s, "DKIM keys", scanDKIMKey,
		`SELECT `+dkimColumns+` FROM dkim_keys ORDER BY domain, created_at DESC, id DESC`)
}

// DKIMKeysOf lists the keys of one domain, newest first.
func (s *Store) DKIMKeysOf(ctx context.Context, domain string) ([]DKIMKey, error) {
	return queryAll(ctx, s, "DKIM keys of "+domain, scanDKIMKey,
		`SELECT `+dkimColumns+` FROM dkim_keys WHERE domain = ? ORDER BY created_at DESC, id DESC`, NormalizeDKIMName(domain))
}

// DKIMKey returns one key.
func (s *Store) DKIMKey(ctx context.Context, id int64) (DKIMKey, error) {
	k, err := scanDKIMKey(s.r.QueryRowContext(ctx, `SELECT `+dkimColumns+` FROM dkim_keys WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return DKIMKey{}, ErrNotFound
	}
	if err != nil {
		return DKIMKey{}, fmt.Errorf("store: DKIM key %d: %w", id, err)
	}
	return k, nil
}

// DKIMPrivateKey decrypts and returns a key's private PEM.
func (s *Store) DKIMPrivateKey(ctx context.Context, id int64) (string, error) {
	var enc []byte
	err := s.r.QueryRowContext(ctx, `SELECT private_enc FROM dkim_keys WHERE id = ?`, id).Scan(&enc)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: DKIM key %d: %w", id, err)
	}
	return s.openDKIM(id, enc)
}

func (s *Store) openDKIM(id int64, enc []byte) (string, error) {
	pem, err := s.box.Open(enc)
	if err != nil {
		return "", fmt.Errorf("store: DKIM key %d: %w", id, ErrSecretUnreadable)
	}
	return pem, nil
}

// SigningKey returns the newest enabled key of domain with its private PEM,
// or ErrNotFound when the domain has none.
func (s *Store) SigningKey(ctx context.Context, domain string) (SigningKey, error) {
	var k SigningKey
	var enc []byte
	err := s.r.QueryRowContext(ctx, `SELECT id, domain, selector, algorithm, private_enc FROM dkim_keys
WHERE domain = ? AND enabled ORDER BY created_at DESC, id DESC LIMIT 1`, NormalizeDKIMName(domain)).
		Scan(&k.ID, &k.Domain, &k.Selector, &k.Algorithm, &enc)
	if errors.Is(err, sql.ErrNoRows) {
		return SigningKey{}, ErrNotFound
	}
	if err != nil {
		return SigningKey{}, fmt.Errorf("store: signing key of %s: %w", domain, err)
	}
	if k.PrivatePEM, err = s.openDKIM(k.ID, enc); err != nil {
		return SigningKey{}, err
	}
	return k, nil
}

// SetDKIMKeyEnabled turns a key on or off for signing.
func (s *Store) SetDKIMKeyEnabled(ctx context.Context, id int64, enabled bool) (DKIMKey, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE dkim_keys SET enabled = ? WHERE id = ?`, enabled, id)
	if err != nil {
		return DKIMKey{}, fmt.Errorf("store: DKIM key %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return DKIMKey{}, ErrNotFound
	}
	return s.DKIMKey(ctx, id)
}

// DeleteDKIMKey removes a key.
func (s *Store) DeleteDKIMKey(ctx context.Context, id int64) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM dkim_keys WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: delete DKIM key %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
