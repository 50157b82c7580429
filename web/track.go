package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v5"

	"herald/scheduler/outbound"
	"herald/store"
)

// pixel is a transparent 1×1 GIF.
var pixel = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

// isTrackingPath reports whether p is an open pixel or a click redirect.
func isTrackingPath(p string) bool {
	return strings.HasPrefix(p, "/o/") || strings.HasPrefix(p, "/c/")
}

// serveHit answers a good tracking hit straight off net/http, once it is
// committed: the commonest request of all, from every recipient's mail
// client, needs none of the sessions, forms and pages the rest of the
// routes do. A token that names nothing is left to the routes (it returns
// false, having written nothing), which answer it as any other request.
func (s *Server) serveHit(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead || !isTrackingPath(r.URL.Path) {
		return false
	}
	token, h := r.URL.Path[3:], outbound.Hit{Method: r.Method, UserAgent: r.UserAgent()}
	var url string
	var err error
	open := r.URL.Path[1] == 'o'
	if open {
		err = s.out.Open(r.Context(), token, h)
	} else {
		url, err = s.out.Click(r.Context(), token, h)
	}
	if errors.Is(err, store.ErrNotFound) {
		return false
	}
	hd := w.Header()
	hd.Set("Cache-Control", "no-store, max-age=0")
	hd.Set("X-Robots-Tag", "noindex")
	hd.Set("X-Content-Type-Options", "nosniff")
	status := http.StatusOK
	switch {
	case err != nil:
		if r.Context().Err() == nil {
			// Not a client that went away before its hit was taken.
			s.log.Error("recording a tracking hit", "path", r.URL.Path, "err", err)
		}
		status = http.StatusServiceUnavailable
		http.Error(w, "Try again in a moment.", status)
	case open:
		hd.Set("Content-Type", "image/gif")
		w.Write(pixel)
	default:
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Location", url)
		status = http.StatusFound
		w.WriteHeader(status)
	}
	if s.log.Enabled(r.Context(), slog.LevelDebug) {
		s.log.Debug("http", "method", r.Method, "path", r.URL.Path, "status", status)
	}
	return true
}

// unknownOpen answers an open pixel serveHit left: its token names nothing.
func (s *Server) unknownOpen(c *echo.Context) error { return c.NoContent(http.StatusNotFound) }
