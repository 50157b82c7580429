package store

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/chacha20poly1305"
)

// SecretKeyFile is the name of the key file inside the data directory.
const SecretKeyFile = "secret.key"

// SecretBox encrypts secrets at rest with XChaCha20-Poly1305.
type SecretBox struct {
	key []byte
	// linkKey signs link tokens, derived from the secret key once, so the
	// key that encrypts secrets is never used for anything else; linkMACs
	// are HMACs keyed with it, as a campaign signs a few tokens for every
	// message.
	linkKey  []byte
	linkMACs sync.Pool
}

// NewSecretBox returns a box for a 32-byte key.
func NewSecretBox(key []byte) (*SecretBox, error) {
	if len(key) != chacha20poly1305.KeySize {
		return nil, fmt.Errorf("secret key must be %d bytes, got %d", chacha20poly1305.KeySize, len(key))
	}
	b := &SecretBox{key: append([]byte(nil), key...)}
	b.linkKey = b.deriveKey("herald link tokens v1")
	b.linkMACs.New = func() any { return hmac.New(sha256.New, b.linkKey) }
	return b, nil
}

// LoadSecretBox returns the box for the key given in env (64 hex characters or
// base64 of 32 bytes) or, when env is empty, for the key in dir/secret.key, which
// is created with mode 0600 on first use.
func LoadSecretBox(dir, env string) (*SecretBox, error) {
	if env != "" {
		key, err := parseKey(env)
		if err != nil {
			return nil, fmt.Errorf("HERALD_SECRET_KEY: %w", err)
		}
		return NewSecretBox(key)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	path := filepath.Join(dir, SecretKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return createKeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	key, err := parseKey(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return NewSecretBox(key)
}

func createKeyFile(path string) (*SecretBox, error) {
	key := make([]byte, chacha20poly1305.KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return NewSecretBox(key)
}

func parseKey(s string) ([]byte, error) {
	if b, err := hex.DecodeString(s); err == nil && len(b) == chacha20poly1305.KeySize {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == chacha20poly1305.KeySize {
		return b, nil
	}
	return nil, errors.New("expected 32 bytes as 64 hex characters or base64")
}

// Seal encrypts plaintext; the random nonce is stored in front of the ciphertext.
func (b *SecretBox) Seal(plaintext string) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(b.key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, []byte(plaintext), nil), nil
}

// Open decrypts what Seal produced.
func (b *SecretBox) Open(sealed []byte) (string, error) {
	aead, err := chacha20poly1305.NewX(b.key)
	if err != nil {
		return "", err
	}
	if len(sealed) < aead.NonceSize() {
		return "", errors.New("sealed secret too short")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], nil)
	if err != nil {
		return "", errors.New("cannot decrypt secret: wrong secret key?")
	}
	return string(plain), nil
}
