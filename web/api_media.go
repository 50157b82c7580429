package web

import (
	"net/http"
	"os"
	"time"

	"herald/store"

	"github.com/labstack/echo/v5"
)

// mediaJSON is an uploaded image as the API shows it.
type mediaJSON struct {
	ID          int64     `json:"id"`
	URL         string    `json:"url"`
	FileName    string    `json:"file_name"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	Width       int       `json:"width"`
	Height      int       `json:"height"`
	CreatedAt   time.Time `json:"created_at"`
}

func (s *Server) toMediaJSON(c *echo.Context, m store.Media) mediaJSON {
	return mediaJSON{ID: m.ID, URL: s.mediaURL(c, m), FileName: m.FileName, ContentType: m.ContentType, Size: m.Size, Width: m.Width, Height: m.Height, CreatedAt: m.CreatedAt}
}

func (s *Server) apiMediaCreate(c *echo.Context) error {
	m, err := s.saveImage(c)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusCreated, s.toMediaJSON(c, m))
}

func (s *Server) apiMediaList(c *echo.Context) error {
	q, err := readList(c, mediaList, s.location())
	if err != nil {
		return err
	}
	ms, total, err := s.store.MediaPage(c.Request().Context(), q.Order, q.PerPage, q.offset())
	if err != nil {
		return err
	}
	out := []mediaJSON{}
	for _, m := range ms {
		out = append(out, s.toMediaJSON(c, m))
	}
	return apiPage(c, q, out, total, func(m mediaJSON) int64 { return m.ID })
}

func (s *Server) apiMediaDelete(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	m, err := s.store.DeleteMedia(c.Request().Context(), id)
	if err != nil {
		return err
	}
	os.Remove(m.Path)
	return c.NoContent(http.StatusNoContent)
}
