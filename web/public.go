package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v5"

	"herald/templates"
)

// isTokenPath reports whether a path is a public page reached from a form on
// another site or from a link in an email, which carry no session or CSRF
// token: what they may do is limited by the list being public or by the
// signed token in the link.
func isTokenPath(p string) bool {
	return strings.HasPrefix(p, "/subscribe/") || strings.HasPrefix(p, "/p/") || strings.HasPrefix(p, "/u/") ||
		strings.HasPrefix(p, "/view/") || strings.HasPrefix(p, "/media/") || strings.HasPrefix(p, "/archive/") || isTrackingPath(p) || isHookPath(p)
}

func (s *Server) publicShell(c *echo.Context, title string) templates.PublicShell {
	return templates.PublicShell{Title: title, OrgName: s.general().OrgName, Assets: s.assets.urls}
}

func (s *Server) message(c *echo.Context, status int, p templates.MessageProps) error {
	if p.Shell.Title == "" {
		p.Shell = s.publicShell(c, p.Heading)
	}
	return s.render(c, status, templates.MessagePage(p))
}

// linkInvalid answers a forged, damaged or expired link.
func (s *Server) linkInvalid(c *echo.Context) error {
	return s.message(c, http.StatusNotFound, templates.MessageProps{Heading: "This link does not work",
		Text: "It may be incomplete or out of date. Copy the whole link from the email, or use the link in a newer email."})
}
