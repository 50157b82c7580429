package web

import (
	"html"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
)

// webView shows a message in the browser, from the signed link in it, as
// the recipient got it. The page is the email's own HTML, so it runs with
// no script and cannot be framed.
func (s *Server) webView(c *echo.Context) error {
	t, err := s.store.Box().VerifyToken(c.Param("token"), store.PurposeView, time.Now())
	if err != nil {
		return s.linkInvalid(c)
	}
	ctx := c.Request().Context()
	tmpl, err := s.store.Template(ctx, t.ListID)
	if err != nil {
		return s.linkInvalid(c)
	}
	contact, err := s.store.Contact(ctx, t.ContactID)
	if err != nil || !contact.ErasedAt.IsZero() {
		return s.linkInvalid(c)
	}
	r, err := s.renderTemplate(c, tmpl, t.ContactID, nil)
	if err != nil {
		return err
	}
	page := r.HTML
	if page == "" {
		page = "<pre style=\"white-space:pre-wrap;font-family:sans-serif\">" + html.EscapeString(r.Text) + "</pre>"
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline'; font-src * data:; frame-ancestors 'none'")
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Robots-Tag", "noindex")
	return c.HTML(http.StatusOK, page)
}
