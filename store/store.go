// Package store keeps everything Herald knows in one SQLite database.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mattn/go-sqlite3" // also registers the "sqlite3" driver
)

// ErrNotFound is returned when a requested row does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write would break a uniqueness rule.
var ErrConflict = errors.New("already exists")

// conflictError says in words what already exists; it matches ErrConflict.
type conflictError struct{ msg string }

func (e *conflictError) Error() string        { return e.msg }
func (e *conflictError) Is(target error) bool { return target == ErrConflict }

func conflict(format string, args ...any) error {
	return &conflictError{msg: fmt.Sprintf(format, args...)}
}

// ErrSecretUnreadable is returned when a stored secret cannot be decrypted
// with the current secret key.
var ErrSecretUnreadable = errors.New("a stored secret cannot be decrypted with this secret key")

// IsDiskFull reports whether err comes from a full disk: SQLite's
// SQLITE_FULL ("database or disk is full"), or ENOSPC from a file write.
// Everything that treats a full disk apart from other failures asks this.
func IsDiskFull(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrFull || se.SystemErrno == syscall.ENOSPC) {
		return true
	}
	return errors.Is(err, syscall.ENOSPC)
}

// DBFile is the database file name inside the data directory.
const DBFile = "herald.db"

// Store holds a pool of readers and a single writer connection to the database.
type Store struct {
	r    *sql.DB
	w    *sql.DB
	box  *SecretBox
	path string
	now  func() time.Time

	// stmts are statements on hot paths, prepared once on the writer.
	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt

	// hooks holds the enabled webhook endpoints, for events to find them.
	hooks webhookCache
}

// writeStmt returns q prepared on the writer, preparing it the first time.
func (s *Store) writeStmt(ctx context.Context, q string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := s.stmts[q]; ok {
		return st, nil
	}
	st, err := s.w.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if s.stmts == nil {
		s.stmts = map[string]*sql.Stmt{}
	}
	s.stmts[q] = st
	return st, nil
}

// Now is the store's clock. Every time the store writes comes from it, and
// so does every time the send path writes, so a test that sets it moves
// due times without waiting for them.
func (s *Store) Now() time.Time { return s.now() }

// SetClock replaces the store's clock; call it before the store is used.
// Tests use it to move time by hand.
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Open creates the data directory if needed, opens the database in it and applies
// every pending migration. box encrypts secrets at rest.
func Open(ctx context.Context, dir string, box *SecretBox) (*Store, error) {
	keepFreedMemory()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data dir: %w", err)
	}
	path := filepath.Join(dir, DBFile)
	r, err := sql.Open("sqlite3", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("store: open readers: %w", err)
	}
	w, err := sql.Open("sqlite3", dsn(path, true))
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("store: open writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	s := &Store{r: r, w: w, box: box, path: path, now: time.Now}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// dsn builds the go-sqlite3 connection string; every connection gets WAL, foreign
// keys and a busy timeout, and the writer takes its write lock when a transaction begins.
func dsn(path string, writer bool) string {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "on")
	q.Set("_busy_timeout", "10000")
	q.Set("_synchronous", "NORMAL")
	if writer {
		q.Set("_txlock", "immediate")
	} else {
		q.Set("_query_only", "true")
	}
	// SQLite reads the name as a URI, so a '%', '?' or '#' in the path must be escaped.
	name := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + name + "?" + q.Encode()
}

// Close closes both pools.
func (s *Store) Close() error {
	s.stmtMu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = nil
	s.stmtMu.Unlock()
	return errors.Join(s.r.Close(), s.w.Close())
}

// Path returns the database file path.
func (s *Store) Path() string { return s.path }

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Tx runs fn inside one write transaction, committing when fn returns nil.
func (s *Store) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		if ctx.Err() != nil {
			// The context ended the transaction: say so, not that it was
			// already over.
			err = ctx.Err()
		}
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// LimitGrowth lets the database file grow by at most pages more pages, as
// a disk about to fill up would: past that, writes fail with SQLITE_FULL.
// Tests use it to meet a full disk for real; LiftGrowthLimit undoes it.
func (s *Store) LimitGrowth(ctx context.Context, pages int64) error {
	var n int64
	if err := s.w.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&n); err != nil {
		return fmt.Errorf("store: page count: %w", err)
	}
	return s.maxPages(ctx, n+pages)
}

// LiftGrowthLimit lets the database file grow again after LimitGrowth.
func (s *Store) LiftGrowthLimit(ctx context.Context) error {
	return s.maxPages(ctx, 0xfffffffe) // SQLite's own largest page count
}

// maxPages sets max_page_count on the writer, the only connection that
// writes; the writer pool keeps its one connection, so the setting holds.
func (s *Store) maxPages(ctx context.Context, n int64) error {
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", n)); err != nil {
		return fmt.Errorf("store: max page count: %w", err)
	}
	return nil
}

// Backup writes a consistent copy of the live database to out with VACUUM INTO.
// out must not exist yet.
func (s *Store) Backup(ctx context.Context, out string) error {
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("store: backup: %s already exists", out)
	}
	if _, err := s.w.ExecContext(ctx, "VACUUM INTO ?", out); err != nil {
		return fmt.Errorf("store: backup to %s: %w", out, err)
	}
	// The copy holds password hashes and encrypted secrets: keep it private.
	if err := os.Chmod(out, 0o600); err != nil {
		return fmt.Errorf("store: backup to %s: %w", out, err)
	}
	return nil
}

func unix(t time.Time) int64 { return t.Unix() }

func fromUnix(v int64) time.Time { return time.Unix(v, 0).UTC() }

func fromNullUnix(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromUnix(v.Int64)
}

// scanner is a row, or the current row of rows, being read.
type scanner interface{ Scan(...any) error }

// queryAll runs q on the readers and reads every row with scan; what names
// the rows in errors.
func queryAll[T any](ctx context.Context, s *Store, what string, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return out, nil
}

// queryOne runs q on the readers and reads its one row with scan:
// ErrNotFound when there is none; what names the row in errors.
func queryOne[T any](ctx context.Context, s *Store, what string, scan func(scanner) (T, error), q string, args ...any) (T, error) {
	v, err := scan(s.r.QueryRowContext(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return v, ErrNotFound
	}
	if err != nil {
		return v, fmt.Errorf("store: %s: %w", what, err)
	}
	return v, nil
}

// queryPage reads one page of a list: count gives how many rows there are in
// all, and q, which takes args and then a limit and an offset, the page.
func queryPage[T any](ctx context.Context, s *Store, what string, scan func(scanner) (T, error), count, q string, args []any, limit, offset int) ([]T, int, error) {
	var total int
	if err := s.r.QueryRowContext(ctx, count, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count %s: %w", what, err)
	}
	rows, err := queryAll(ctx, s, what, scan, q, append(args[:len(args):len(args)], limit, offset)...)
	return rows, total, err
}

func scanString(row scanner) (string, error) {
	var v string
	return v, row.Scan(&v)
}
