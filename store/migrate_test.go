package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// unmigrated opens a fresh database with no migration applied, on one
// writer connection, and returns the migrations to apply one by one.
func unmigrated(t *testing.T) (*sql.DB, *Store, []migration) {
	t.Helper()
	w, err := sql.Open("sqlite3", dsn(filepath.Join(t.TempDir(), DBFile), true))
	if err != nil {
		t.Fatal(err)
	}
	w.SetMaxOpenConns(1)
	t.Cleanup(func() { w.Close() })
	if _, err := w.Exec(createMigrationsTable); err != nil {
		t.Fatal(err)
	}
	all, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	return w, &Store{w: w, now: (&testClock{t: testStart}).now}, all
}

// TestMigrationRebuildKeepsReferences applies the migrations up to 0004,
// stores a relay and a campaign that names it, then applies 0005, which
// rebuilds the relays table: the relay keeps its id, password and settings,
// and the campaign still names it.
func TestMigrationRebuildKeepsReferences(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w, s, all := unmigrated(t)
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

// TestMigrationPausedImportsKeepJobsAndErrors applies the migrations up to
// 0009, stores two jobs (deleting the newer) and a job's bad lines, then
// applies 0010, which rebuilds import_jobs: the job keeps its id and bad
// lines, a job may now be paused, and ids go on after the deleted one.
func TestMigrationPausedImportsKeepJobsAndErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w, s, all := unmigrated(t)
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := w.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range all {
		if m.version == 10 {
			mustExec(`INSERT INTO import_jobs (id, status, file_name, file_path, file_size, mode, read_offset, line, total, created_at)
VALUES (3, 'running', 'a.csv', '/data/imports/a.csv', 100, 'upsert', 40, 5, 3, 1), (9, 'done', 'b.csv', '', 1, 'create', 0, 1, 0, 1)`)
			mustExec(`DELETE FROM import_jobs WHERE id = 9`)
			mustExec(`INSERT INTO import_errors (job_id, line, reason) VALUES (3, 4, 'bad')`)
		}
		if err := s.apply(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	var status, path string
	var offset, errs int
	if err := w.QueryRow(`SELECT status, file_path, read_offset, (SELECT count(*) FROM import_errors WHERE job_id = 3) FROM import_jobs WHERE id = 3`).
		Scan(&status, &path, &offset, &errs); err != nil || status != "running" || path != "/data/imports/a.csv" || offset != 40 || errs != 1 {
		t.Fatalf("job 3 after the rebuild: got %s %s %d with %d bad lines (%v)", status, path, offset, errs, err)
	}
	mustExec(`UPDATE import_jobs SET status = 'paused', error = 'the disk is full' WHERE id = 3`)
	var id int64
	if err := w.QueryRow(`INSERT INTO import_jobs (status, file_name, file_path, file_size, mode, created_at) VALUES ('queued', 'c.csv', '', 1, 'create', 1)
RETURNING id`).Scan(&id); err != nil || id != 10 {
		t.Fatalf("next job id: got %d (%v), want 10, after the deleted 9", id, err)
	}
	mustExec(`DELETE FROM import_jobs WHERE id = 3`)
	if err := w.QueryRow(`SELECT count(*) FROM import_errors`).Scan(&errs); err != nil || errs != 0 {
		t.Fatalf("bad lines of a deleted job: got %d (%v), want them deleted with it", errs, err)
	}
}
