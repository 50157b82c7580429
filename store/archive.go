package store

import (
	"context"
	"fmt"
	"time"
)

// ArchiveEntry is one message in a public list's archive, rendered without
// any recipient's details.
type ArchiveEntry struct {
	ID          int64
	ListID      int64
	Title       string
	HTML        string
	Text        string
	PublishedAt time.Time
}

// AddArchiveEntry puts a sent message in a list's archive.
func (s *Store) AddArchiveEntry(ctx context.Context, e ArchiveEntry) (ArchiveEntry, error) {
	if e.PublishedAt.IsZero() {
		e.PublishedAt = s.now()
	}
	err := s.w.QueryRowContext(ctx, `INSERT INTO archive_entries (list_id, title, html, text, published_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		e.ListID, e.Title, e.HTML, e.Text, unix(e.PublishedAt)).Scan(&e.ID)
	if err != nil {
		return ArchiveEntry{}, fmt.Errorf("store: archive entry: %w", err)
	}
	e.PublishedAt = e.PublishedAt.UTC().Truncate(time.Second)
	return e, nil
}

func scanArchiveEntry(row scanner) (ArchiveEntry, error) {
	var e ArchiveEntry
	var at int64
	err := row.Scan(&e.ID, &e.ListID, &e.Title, &e.HTML, &e.Text, &at)
	e.PublishedAt = fromUnix(at)
	return e, err
}

// ArchiveEntries returns a list's newest archived messages.
func (s *Store) ArchiveEntries(ctx context.Context, listID int64, limit int) ([]ArchiveEntry, error) {
	return queryAll(ctx, s, "archive", scanArchiveEntry, `SELECT id, list_id, title, html, text, published_at FROM archive_entries
WHERE list_id = ? ORDER BY published_at DESC, id DESC LIMIT ?`, listID, limit)
}

// ArchiveEntryOf returns one archived message of a list.
func (s *Store) ArchiveEntryOf(ctx context.Context, listID, id int64) (ArchiveEntry, error) {
	es, err := queryAll(ctx, s, "archive", scanArchiveEntry, `SELECT id, list_id, title, html, text, published_at FROM archive_entries
WHERE list_id = ? AND id = ?`, listID, id)
	if err != nil {
		return ArchiveEntry{}, err
	}
	if len(es) == 0 {
		return ArchiveEntry{}, ErrNotFound
	}
	return es[0], nil
}
