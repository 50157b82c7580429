package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// TestMigrationRebuildKeepsReferences applies the migrations up to 0004,
// stores a relay and a campaign that names it, then applies 0005, which
// rebuilds the relays table: the relay keeps its id, password and settings,
// and the campaign still names it.
func TestMigrationRebuildKeepsReferences(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), DBFile)
	w, err := sql.Open("sqlite3", dsn(path, true))
	if err != nil {
		t.Fatal(err)
	}
	w.SetMaxOpenConns(1)
	defer w.Close()
	s := &Store{w: w, now: (&testClock{t: testStart}).now}
	if _, err := w.Exec(createMigrationsTable); err != nil {
		t.Fatal(err)
	}
	all, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	var rebuild migration
	for _, m := range all {
		if m.version == 5 {
			rebuild = m
			break
		}
		if err := s.apply(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := w.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	mustExec(`INSERT INTO relays (id, name, kind, host, port, tls, username, password_enc, max_connections, rate_per_second, enabled, created_at, updated_at)
VALUES (7, 'Office', 'smtp', 'smtp.example.com', 587, 'starttls', 'me', x'0102', 4, 2.5, 1, 1, 1)`)
	mustExec(`INSERT INTO campaigns (id, name, relay_id, created_at, updated_at) VALUES (3, 'May', 7, 1, 1)`)

	if err := s.apply(ctx, rebuild); err != nil {
		t.Fatal(err)
	}
	var relayID int64
	var host, kind string
	var pw []byte
	var conns int
	if err := w.QueryRow(`SELECT c.relay_id, r.host, r.kind, r.password_enc, r.max_connections FROM campaigns c JOIN relays r ON r.id = c.relay_id WHERE c.id = 3`).
		Scan(&relayID, &host, &kind, &pw, &conns); err != nil {
		t.Fatalf("campaign 3 lost its relay: %v", err)
	}
	if relayID != 7 || host != "smtp.example.com" || kind != "smtp" || string(pw) != "\x01\x02" || conns != 4 {
		t.Errorf("after the rebuild: relay %d %q %q %x %d", relayID, host, kind, pw, conns)
	}
	var fk int
	if err := w.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign keys after the migration: %d %v, want back on", fk, err)
	}
	// Deleting the relay still clears the campaign's reference: the
	// rebuilt table is the one campaigns refer to.
	mustExec(`DELETE FROM relays WHERE id = 7`)
	var ref sql.NullInt64
	if err := w.QueryRow(`SELECT relay_id FROM campaigns WHERE id = 3`).Scan(&ref); err != nil || ref.Valid {
		t.Errorf("after deleting the relay: campaign relay %v %v, want NULL", ref, err)
	}
}
