package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testKey is a fixed secret key, so tests never depend on a key file.
var testKey = []byte("0123456789abcdef0123456789abcdef")

// testStart is where the test clock starts: a whole second, because the
// database keeps times in Unix seconds.
var testStart = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func testBox(t testing.TB) *SecretBox {
	t.Helper()
	box, err := NewSecretBox(testKey)
	if err != nil {
		t.Fatalf("NewSecretBox: %v", err)
	}
	return box
}

// openTestStore opens a store on a fresh database in a temporary directory,
// with its clock fixed at testStart.
func openTestStore(t testing.TB) (*Store, *testClock) {
	t.Helper()
	s := openStoreAt(t, t.TempDir(), testBox(t))
	c := &testClock{t: testStart}
	s.now = c.now
	return s, c
}

func openStoreAt(t testing.TB, dir string, box *SecretBox) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, box)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testClock is a clock the test moves by hand.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time          { return c.t }
func (c *testClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func createTestUser(t *testing.T, s *Store, email string) User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), NewUser{Email: email, Name: "Test", Role: RoleAdmin, Password: "correct horse battery"})
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

func countRows(t *testing.T, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.r.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestOpenCreatesDirAndMigratesOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "nested", "data")
	box := testBox(t)

	s, err := Open(ctx, dir, box)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("data dir: got %v, want a directory", err)
	}
	if got, want := s.Path(), filepath.Join(dir, DBFile); got != want {
		t.Errorf("Path: got %v, want %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, DBFile)); err != nil {
		t.Errorf("database file: got %v, want it to exist", err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != latestVersion(t) {
		t.Errorf("SchemaVersion: got %v (%v), want %d", v, err, latestVersion(t))
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: got %v, want nil", err)
	}
	createTestUser(t, s, "kept@example.com")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s2 := openStoreAt(t, dir, box)
	if v, err := s2.SchemaVersion(ctx); err != nil || v != latestVersion(t) {
		t.Errorf("SchemaVersion after reopen: got %v (%v), want %d", v, err, latestVersion(t))
	}
	if got := countRows(t, s2, `SELECT COUNT(*) FROM schema_migrations`); got != latestVersion(t) {
		t.Errorf("schema_migrations rows after reopen: got %v, want %d", got, latestVersion(t))
	}
	if _, err := s2.UserByEmail(ctx, "kept@example.com"); err != nil {
		t.Errorf("user after reopen: got %v, want nil", err)
	}
}

func TestOpenDirWithURICharacters(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"a#b", "100%41", "what?now", "with space"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), name)
			s := openStoreAt(t, dir, testBox(t))
			createTestUser(t, s, "a@example.com")
			if _, err := os.Stat(filepath.Join(dir, DBFile)); err != nil {
				t.Errorf("database file: got %v, want it inside %s", err, dir)
			}
		})
	}
}

func TestConnectionSettings(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	for _, p := range []struct {
		name string
		db   *sql.DB
	}{{"reader", s.r}, {"writer", s.w}} {
		t.Run(p.name, func(t *testing.T) {
			var mode string
			if err := p.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if mode != "wal" {
				t.Errorf("journal_mode: got %v, want wal", mode)
			}
			var fk int
			if err := p.db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil {
				t.Fatal(err)
			}
			if fk != 1 {
				t.Errorf("foreign_keys: got %v, want 1", fk)
			}
		})
	}
	if got := s.w.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer MaxOpenConnections: got %v, want 1", got)
	}
	if _, err := s.r.Exec(`INSERT INTO settings (key, value) VALUES ('x', 'y')`); err == nil {
		t.Errorf("write through reader pool: got nil error, want a query-only error")
	}
}

func TestDeleteUserCascadesToSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	gone := createTestUser(t, s, "gone@example.com")
	kept := createTestUser(t, s, "kept@example.com")
	goneToken, _, err := s.CreateSession(ctx, gone.ID, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	keptToken, _, err := s.CreateSession(ctx, kept.ID, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`DELETE FROM users WHERE id = ?`, gone.ID); err != nil {
		t.Fatalf("delete user: %v", err)
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM sessions WHERE user_id = ?`, gone.ID); got != 0 {
		t.Errorf("sessions of deleted user: got %v, want 0", got)
	}
	if _, err := s.SessionByToken(ctx, goneToken); !errors.Is(err, ErrNotFound) {
		t.Errorf("SessionByToken of deleted user: got %v, want %v", err, ErrNotFound)
	}
	if _, err := s.SessionByToken(ctx, keptToken); err != nil {
		t.Errorf("SessionByToken of other user: got %v, want nil", err)
	}
}

func TestSessionNeedsExistingUser(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	if _, _, err := s.CreateSession(context.Background(), 999, "", ""); err == nil {
		t.Errorf("CreateSession for missing user: got nil error, want a foreign key error")
	}
}

func TestTxRollsBackOnError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	boom := errors.New("boom")
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		if err := putSetting(ctx, tx, "k", "v"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("Tx error: got %v, want %v", err, boom)
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM settings WHERE key = 'k'`); got != 0 {
		t.Errorf("rows after rollback: got %v, want 0", got)
	}
	if err := s.Tx(ctx, func(tx *sql.Tx) error { return putSetting(ctx, tx, "k", "v") }); err != nil {
		t.Fatalf("Tx: %v", err)
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM settings WHERE key = 'k'`); got != 1 {
		t.Errorf("rows after commit: got %v, want 1", got)
	}
}

func TestBackup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	emails := []string{"one@example.com", "two@example.com"}
	for _, e := range emails {
		createTestUser(t, s, e)
	}

	outDir := t.TempDir()
	out := filepath.Join(outDir, DBFile)
	if err := s.Backup(ctx, out); err != nil {
		t.Fatalf("Backup: %v", err)
	}

	db, err := sql.Open("sqlite3", out)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	if check != "ok" {
		t.Errorf("integrity_check: got %v, want ok", check)
	}
	rows, err := db.Query(`SELECT email FROM users ORDER BY email`)
	if err != nil {
		t.Fatalf("query backup: %v", err)
	}
	var got []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	rows.Close()
	if len(got) != len(emails) || got[0] != emails[0] || got[1] != emails[1] {
		t.Errorf("users in backup: got %v, want %v", got, emails)
	}

	// The backup is a data directory Herald itself can open.
	restored := openStoreAt(t, outDir, testBox(t))
	if v, err := restored.SchemaVersion(ctx); err != nil || v != latestVersion(t) {
		t.Errorf("restored SchemaVersion: got %v (%v), want %d", v, err, latestVersion(t))
	}
	if n, err := restored.CountUsers(ctx); err != nil || n != len(emails) {
		t.Errorf("restored CountUsers: got %v (%v), want %v", n, err, len(emails))
	}
}

func TestBackupRefusesExistingFile(t *testing.T) {
	t.Parallel()
	// SQLite alone would write over an empty file, so that case matters most.
	for name, content := range map[string]string{"empty": "", "not empty": "keep me"} {
		t.Run(name, func(t *testing.T) {
			s, _ := openTestStore(t)
			createTestUser(t, s, "ann@example.com")
			out := filepath.Join(t.TempDir(), "exists.db")
			if err := os.WriteFile(out, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := s.Backup(context.Background(), out); err == nil {
				t.Errorf("Backup over existing file: got nil error, want an error")
			}
			b, err := os.ReadFile(out)
			if err != nil || string(b) != content {
				t.Errorf("existing file: got %d bytes %.20q (%v), want %q", len(b), b, err, content)
			}
		})
	}
}

// latestVersion is the version of the newest embedded migration; versions are
// numbered 1, 2, 3 with no gaps.
func latestVersion(t *testing.T) int {
	t.Helper()
	all, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range all {
		if m.version != i+1 {
			t.Fatalf("migration %s has version %d, want %d: versions must run 1, 2, 3 without gaps", m.name, m.version, i+1)
		}
	}
	return len(all)
}
