package web

import (
	"errors"
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

func trackingHit(c *echo.Context) outbound.Hit {
	h := outbound.Hit{Method: c.Request().Method, UserAgent: c.Request().UserAgent()}
	if head, _ := c.Get(headKey).(bool); head {
		h.Method = http.MethodHead
	}
	return h
}

// trackOpen answers a message's open pixel once the open is committed.
func (s *Server) trackOpen(c *echo.Context) error {
	err := s.out.Open(c.Request().Context(), c.Param("token"), trackingHit(c))
	if errors.Is(err, store.ErrNotFound) {
		return c.NoContent(http.StatusNotFound)
	}
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store, max-age=0")
	h.Set("X-Robots-Tag", "noindex")
	return c.Blob(http.StatusOK, "image/gif", pixel)
}

// trackClick records a click and redirects to the link's stored
// destination; a forged or unknown token gets 404, never a redirect.
func (s *Server) trackClick(c *echo.Context) error {
	url, err := s.out.Click(c.Request().Context(), c.Param("token"), trackingHit(c))
	if errors.Is(err, store.ErrNotFound) {
		return s.linkInvalid(c)
	}
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store, max-age=0")
	h.Set("X-Robots-Tag", "noindex")
	h.Set("Referrer-Policy", "no-referrer")
	return c.Redirect(http.StatusFound, url)
}
