package web

import (
	"errors"
	"html"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"herald/mailer"
	"herald/store"
	"herald/templates"
)

// webView shows a message in the browser, from the signed link in it, as
// the recipient got it. The page is the email's own HTML, so it runs with
// no script and cannot be framed.
func (s *Server) webView(c *echo.Context) error {
	ctx := c.Request().Context()
	// A campaign's message, or a template shown from its preview.
	box, token := s.store.Box(), c.Param("token")
	t, err := box.VerifyToken(token, store.PurposeCampaignView, time.Now())
	campaign := err == nil
	if !campaign {
		if t, err = box.VerifyToken(token, store.PurposeView, time.Now()); err != nil {
			return s.linkInvalid(c)
		}
	}
	contact, err := s.store.Contact(ctx, t.ContactID)
	if err != nil || !contact.ErasedAt.IsZero() {
		return s.linkInvalid(c)
	}
	var r mailer.Rendered
	if campaign {
		r, err = s.out.RenderSent(ctx, t.ListID, contact)
		if err == nil {
			s.out.NoteLink(ctx, store.ResultView, t.ListID, t.ContactID)
		}
	} else {
		var tmpl store.Template
		if tmpl, err = s.store.Template(ctx, t.ListID); err == nil {
			r, err = s.out.RenderTemplate(ctx, tmpl, t.ContactID, nil)
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return s.linkInvalid(c)
	}
	if err != nil {
		s.log.Error("web view does not render", "token", c.Param("token"), "err", err)
		return s.message(c, http.StatusOK, templates.MessageProps{Heading: "This email cannot be shown here",
			Text: "Something in it no longer works in the browser. The email in your inbox is unaffected."})
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
