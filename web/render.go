package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v5"

	"herald/templates"
)

const flashCookie = "herald_flash"

// render renders comp into a buffer first, so a template error becomes a 500
// rather than half a page.
func (s *Server) render(c *echo.Context, status int, comp templ.Component) error {
	var buf bytes.Buffer
	if err := comp.Render(c.Request().Context(), &buf); err != nil {
		return fmt.Errorf("web: render: %w", err)
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// shell gathers what the layout needs for the current request, and takes
// the flash left for it.
func (s *Server) shell(c *echo.Context, section, title string) templates.Shell {
	sh := s.errorShell(c, section, title)
	sh.Flash = s.takeFlash(c)
	return sh
}

// errorShell is shell for an error page: it leaves the flash, which says
// how an earlier action went, for the next page that is not an error.
func (s *Server) errorShell(c *echo.Context, section, title string) templates.Shell {
	sh := templates.Shell{
		Title:   title,
		Section: section,
		OrgName: s.general().OrgName,
		Assets:  s.assets.urls,
	}
	sh.CSRF, _ = c.Get(ctxCSRF).(string)
	if u, ok := currentUser(c); ok {
		sh.UserEmail = u.Email
		// A page made without the list still works: it only says less.
		sh.Paused, _ = s.store.PausedQueues(c.Request().Context())
	}
	return sh
}

// flash leaves a message for the next page the browser shows.
func (s *Server) flash(c *echo.Context, kind, text string) {
	s.setCookie(c, flashCookie, url.QueryEscape(kind+":"+text), time.Now().Add(time.Minute))
}

func (s *Server) takeFlash(c *echo.Context) templates.Flash {
	ck, err := c.Cookie(flashCookie)
	if err != nil || ck.Value == "" {
		return templates.Flash{}
	}
	s.clearCookie(c, flashCookie)
	v, err := url.QueryUnescape(ck.Value)
	if err != nil {
		return templates.Flash{}
	}
	kind, text, _ := strings.Cut(v, ":")
	if kind != "error" {
		kind = "success"
	}
	return templates.Flash{Kind: kind, Text: text}
}

// redirect answers a form post with 303, or tells htmx where to go.
func redirect(c *echo.Context, to string) error {
	if c.Request().Header.Get("HX-Request") == "true" {
		c.Response().Header().Set("HX-Location", to)
		return c.NoContent(http.StatusNoContent)
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// templ2 renders two components one after the other, for an htmx answer
// with an out-of-band part.
func templ2(a, b templ.Component) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		if err := a.Render(ctx, w); err != nil {
			return err
		}
		return b.Render(ctx, w)
	})
}
