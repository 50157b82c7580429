package store

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewSecretBoxKeyLength(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := NewSecretBox(make([]byte, n)); err == nil {
			t.Errorf("NewSecretBox(%d bytes): got nil error, want an error", n)
		}
	}
}

func TestSecretBoxRoundTrip(t *testing.T) {
	t.Parallel()
	box := testBox(t)
	for name, plain := range map[string]string{
		"empty":   "",
		"ascii":   "hunter2",
		"unicode": "pässwörd ✉",
		"long":    strings.Repeat("x", 4096),
	} {
		t.Run(name, func(t *testing.T) {
			sealed, err := box.Seal(plain)
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			if plain != "" && bytes.Contains(sealed, []byte(plain)) {
				t.Errorf("sealed text contains the plaintext")
			}
			got, err := box.Open(sealed)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if got != plain {
				t.Errorf("Open: got %q, want %q", got, plain)
			}
		})
	}
}

func TestSecretBoxSealsDiffer(t *testing.T) {
	t.Parallel()
	box := testBox(t)
	a, err := box.Seal("same text")
	if err != nil {
		t.Fatal(err)
	}
	b, err := box.Seal("same text")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) {
		t.Errorf("two seals of the same text: got equal %x, want different", a)
	}
}

func TestSecretBoxTampered(t *testing.T) {
	t.Parallel()
	box := testBox(t)
	sealed, err := box.Seal("relay password")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]func([]byte) []byte{
		"nonce byte":      func(b []byte) []byte { b[0] ^= 1; return b },
		"ciphertext byte": func(b []byte) []byte { b[24] ^= 1; return b },
		"tag byte":        func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b },
		"truncated":       func(b []byte) []byte { return b[:len(b)-1] },
		"extended":        func(b []byte) []byte { return append(b, 0) },
		"nonce only":      func(b []byte) []byte { return b[:24] },
		"too short":       func(b []byte) []byte { return b[:5] },
		"empty":           func(b []byte) []byte { return nil },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			bad := mutate(append([]byte(nil), sealed...))
			if got, err := box.Open(bad); err == nil {
				t.Errorf("Open(tampered): got %q, nil error, want an error", got)
			}
		})
	}
}

func TestSecretBoxWrongKey(t *testing.T) {
	t.Parallel()
	sealed, err := testBox(t).Seal("relay password")
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewSecretBox(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	got, err := other.Open(sealed)
	if err == nil {
		t.Fatalf("Open with wrong key: got %q, nil error, want an error", got)
	}
	if !strings.Contains(err.Error(), "wrong secret key") {
		t.Errorf("error: got %v, want it to mention the wrong secret key", err)
	}
}

func TestLoadSecretBoxKeyFile(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	box1, err := LoadSecretBox(dir, "")
	if err != nil {
		t.Fatalf("first LoadSecretBox: %v", err)
	}
	path := filepath.Join(dir, SecretKeyFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("key file: %v", err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("key file mode: got %v, want %v", got, os.FileMode(0o600))
	}
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if key, err := hex.DecodeString(strings.TrimSpace(string(first))); err != nil || len(key) != 32 {
		t.Errorf("key file contents: got %q, want 64 hex characters", first)
	}
	sealed, err := box1.Seal("kept across restarts")
	if err != nil {
		t.Fatal(err)
	}

	box2, err := LoadSecretBox(dir, "")
	if err != nil {
		t.Fatalf("second LoadSecretBox: %v", err)
	}
	second, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("key file after second load: got %q, want unchanged %q", second, first)
	}
	if got, err := box2.Open(sealed); err != nil || got != "kept across restarts" {
		t.Errorf("second box opens first box's secret: got %q (%v), want %q", got, err, "kept across restarts")
	}
}

func TestLoadSecretBoxDamagedKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, SecretKeyFile), []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSecretBox(dir, ""); err == nil {
		t.Errorf("LoadSecretBox with damaged key file: got nil error, want an error")
	}
}

func TestLoadSecretBoxEnv(t *testing.T) {
	t.Parallel()
	sealed, err := testBox(t).Seal("from env")
	if err != nil {
		t.Fatal(err)
	}
	for name, env := range map[string]string{
		"hex":    hex.EncodeToString(testKey),
		"base64": base64.StdEncoding.EncodeToString(testKey),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			box, err := LoadSecretBox(dir, env)
			if err != nil {
				t.Fatalf("LoadSecretBox(%q): %v", env, err)
			}
			if got, err := box.Open(sealed); err != nil || got != "from env" {
				t.Errorf("Open: got %q (%v), want %q", got, err, "from env")
			}
			if _, err := os.Stat(filepath.Join(dir, SecretKeyFile)); !os.IsNotExist(err) {
				t.Errorf("key file with env key: got %v, want it not to exist", err)
			}
		})
	}
}

func TestLoadSecretBoxBadEnv(t *testing.T) {
	t.Parallel()
	for name, env := range map[string]string{
		"word":          "secret",
		"short hex":     hex.EncodeToString(testKey[:31]),
		"long hex":      hex.EncodeToString(append(testKey, 1)),
		"short base64":  base64.StdEncoding.EncodeToString(testKey[:16]),
		"not hex chars": strings.Repeat("zz", 32),
	} {
		t.Run(name, func(t *testing.T) {
			box, err := LoadSecretBox(t.TempDir(), env)
			if err == nil {
				t.Fatalf("LoadSecretBox(%q): got %v, nil error, want an error", env, box)
			}
			msg := err.Error()
			if !strings.Contains(msg, "HERALD_SECRET_KEY") || !strings.Contains(msg, "32 bytes") {
				t.Errorf("error: got %q, want it to name HERALD_SECRET_KEY and the 32-byte format", msg)
			}
		})
	}
}
