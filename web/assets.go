package web

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v5"

	"herald/templates"
)

// assets serves the static files under content-hashed names, so they can be
// cached forever and a new release is fetched at once.
type assets struct {
	fsys   fs.FS
	byURL  map[string]string // fingerprinted URL -> file path
	byPath map[string]string // file path -> fingerprinted URL
	urls   templates.Assets
}

func newAssets(fsys fs.FS) (*assets, error) {
	a := &assets{fsys: fsys, byURL: map[string]string{}, byPath: map[string]string{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(p)
		u := "/static/" + strings.TrimSuffix(p, ext) + "." + hex.EncodeToString(sum[:6]) + ext
		a.byURL[u] = p
		a.byPath[p] = u
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.urls = templates.Assets{
		CSS:   a.byPath["css/app.css"],
		HTMX:  a.byPath["vendor/htmx-2.0.11.min.js"],
		AppJS: a.byPath["js/app.js"],
	}
	return a, nil
}

func (s *Server) static(c *echo.Context) error {
	p, ok := s.assets.byURL[c.Request().URL.Path]
	if !ok {
		return echo.ErrNotFound
	}
	b, err := fs.ReadFile(s.assets.fsys, p)
	if err != nil {
		return err
	}
	ct := mime.TypeByExtension(path.Ext(p))
	if ct == "" {
		ct = "application/octet-stream"
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	return c.Blob(http.StatusOK, ct, b)
}

func (s *Server) favicon(c *echo.Context) error {
	return c.NoContent(http.StatusNoContent)
}
