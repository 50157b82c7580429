package store

import (
	"context"
	"fmt"
	"time"
)

// Media is an uploaded image, stored as a file in the data directory.
type Media struct {
	ID          int64
	FileName    string
	ContentType string
	Size        int64
	Width       int
	Height      int
	SHA256      string
	Path        string
	CreatedAt   time.Time
}

// CreateMedia records an uploaded file already saved at m.Path.
func (s *Store) CreateMedia(ctx context.Context, m Media) (Media, error) {
	err := s.w.QueryRowContext(ctx, `INSERT INTO media (file_name, content_type, size, width, height, sha256, path, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, m.FileName, m.ContentType, m.Size, m.Width, m.Height, m.SHA256, m.Path, unix(s.now())).Scan(&m.ID)
	if err != nil {
		return Media{}, fmt.Errorf("store: create media: %w", err)
	}
	return s.Media(ctx, m.ID)
}

// SetMediaPath records where a media file was finally stored.
func (s *Store) SetMediaPath(ctx context.Context, id int64, path string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE media SET path = ? WHERE id = ?`, path, id)
	return err
}

const mediaColumns = `id, file_name, content_type, size, width, height, sha256, path, created_at`

func scanMedia(row scanner) (Media, error) {
	var m Media
	var created int64
	err := row.Scan(&m.ID, &m.FileName, &m.ContentType, &m.Size, &m.Width, &m.Height, &m.SHA256, &m.Path, &created)
	m.CreatedAt = fromUnix(created)
	return m, err
}

// Media returns one uploaded file.
func (s *Store) Media(ctx context.Context, id int64) (Media, error) {
	rows, err := queryAll(ctx, s, "media", scanMedia, `SELECT `+mediaColumns+` FROM media WHERE id = ?`, id)
	if err != nil {
		return Media{}, err
	}
	if len(rows) == 0 {
		return Media{}, ErrNotFound
	}
	return rows[0], nil
}

// MediaList returns uploaded files, newest first.
func (s *Store) MediaList(ctx context.Context) ([]Media, error) {
	return queryAll(ctx, s, "media", scanMedia, `SELECT `+mediaColumns+` FROM media ORDER BY id DESC`)
}

// MediaPage returns one page of uploaded files, newest first, and how many
// there are in all.
func (s *Store) MediaPage(ctx context.Context, o Order, limit, offset int) ([]Media, int, error) {
	window, args, _, _, orderBy := o.sql(MediaSorts, "id", "created_at")
	return queryPage(ctx, s, "media", scanMedia, `SELECT count(*) FROM media WHERE 1`+window,
		`SELECT `+mediaColumns+` FROM media WHERE 1`+window+orderBy+` LIMIT ? OFFSET ?`, args, limit, offset)
}

// MediaSorts are the fields the media sort by, beyond id.
var MediaSorts = map[string]string{"created_at": "created_at", "file_name": "file_name", "size": "size"}

// DeleteMedia forgets an uploaded file and returns it, so its file can be removed.
func (s *Store) DeleteMedia(ctx context.Context, id int64) (Media, error) {
	m, err := s.Media(ctx, id)
	if err != nil {
		return m, err
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM media WHERE id = ?`, id); err != nil {
		return m, fmt.Errorf("store: delete media %d: %w", id, err)
	}
	return m, nil
}
