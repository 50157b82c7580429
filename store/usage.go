package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Counter names one window of a usage count: messages sent through a relay
// on a day ("relay:3"), or to a recipient domain in an hour
// ("domain:gmail.com"). Rate limits read them back after a restart.
type Counter struct {
	Scope  string
	Window time.Time
}

const addUsageSQL = `INSERT INTO usage_counters (scope, window_start, count) VALUES (?, ?, ?)
ON CONFLICT (scope, window_start) DO UPDATE SET count = count + excluded.count`

// addUsage adds to usage counters inside a write transaction, with the
// statement prepared from addUsageSQL before the transaction began (it runs
// with every group of outcomes).
func addUsage(ctx context.Context, tx *sql.Tx, prepared *sql.Stmt, usage map[Counter]int) error {
	if len(usage) == 0 {
		return nil
	}
	st := tx.StmtContext(ctx, prepared)
	defer st.Close()
	for c, n := range usage {
		if _, err := st.ExecContext(ctx, c.Scope, unix(c.Window), n); err != nil {
			return err
		}
	}
	return nil
}

// Usage returns a counter's count so far.
func (s *Store) Usage(ctx context.Context, c Counter) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT coalesce(sum(count), 0) FROM usage_counters WHERE scope = ? AND window_start = ?`, c.Scope, unix(c.Window)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: usage of %s: %w", c.Scope, err)
	}
	return n, nil
}

// PruneUsage drops counters of windows that started before t.
func (s *Store) PruneUsage(ctx context.Context, before time.Time) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM usage_counters WHERE window_start < ?`, unix(before)); err != nil {
		return fmt.Errorf("store: prune usage: %w", err)
	}
	return nil
}
