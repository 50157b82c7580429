package web

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

// Failed sign-ins allowed before a lockout starts, per account and per address.
const (
	accountFailureLimit = 5
	ipFailureLimit      = 20
)

func (s *Server) setupForm(c *echo.Context) error {
	ctx := c.Request().Context()
	if n, err := s.store.CountUsers(ctx); err != nil || n > 0 {
		if err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	token := c.QueryParam("token")
	if !s.store.CheckSetupToken(ctx, token) {
		return s.render(c, http.StatusForbidden, templates.SetupLockedPage(s.shell(c, "", "Setup")))
	}
	return s.render(c, http.StatusOK, templates.SetupPage(templates.SetupProps{Shell: s.shell(c, "", "Setup"), Token: token}))
}

func (s *Server) setupSubmit(c *echo.Context) error {
	ctx := c.Request().Context()
	p := templates.SetupProps{
		Shell: s.shell(c, "", "Setup"),
		Token: c.FormValue("token"),
		Email: strings.TrimSpace(c.FormValue("email")),
		Name:  strings.TrimSpace(c.FormValue("name")),
	}
	password := c.FormValue("password")
	if password != c.FormValue("password_confirm") {
		p.Errors = templates.FieldErrors{"password_confirm": "The two passwords differ."}
		return s.render(c, http.StatusUnprocessableEntity, templates.SetupPage(p))
	}
	u, err := s.store.CreateOwner(ctx, p.Token, store.NewUser{Email: p.Email, Name: p.Name, Password: password})
	var ve *store.ValidationError
	switch {
	case errors.Is(err, store.ErrBadSetupToken):
		if n, cerr := s.store.CountUsers(ctx); cerr == nil && n > 0 {
			return c.Redirect(http.StatusSeeOther, "/login")
		}
		return s.render(c, http.StatusForbidden, templates.SetupLockedPage(p.Shell))
	case errors.As(err, &ve):
		p.Errors = ve.Fields
		return s.render(c, http.StatusUnprocessableEntity, templates.SetupPage(p))
	case err != nil:
		return err
	}
	s.log.Info("owner account created", "email", u.Email)
	s.flash(c, "success", "Your owner account is ready. Sign in with "+u.Email+".")
	return c.Redirect(http.StatusSeeOther, "/login")
}

func (s *Server) loginForm(c *echo.Context) error {
	n, err := s.store.CountUsers(c.Request().Context())
	if err != nil {
		return err
	}
	if n == 0 {
		return c.Redirect(http.StatusSeeOther, "/setup")
	}
	if _, ok := currentUser(c); ok {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return s.render(c, http.StatusOK, templates.LoginPage(templates.LoginProps{
		Shell: s.shell(c, "", "Sign in"), Next: safeNext(c.QueryParam("next")),
	}))
}

func (s *Server) loginSubmit(c *echo.Context) error {
	ctx := c.Request().Context()
	p := templates.LoginProps{
		Shell: s.shell(c, "", "Sign in"),
		Email: strings.TrimSpace(c.FormValue("email")),
		Next:  safeNext(c.FormValue("next")),
	}
	accountKey := "account:" + strings.ToLower(p.Email)
	ipKey := "ip:" + c.RealIP()
	if locked, err := s.lockedOut(c, &p, accountKey, ipKey); locked || err != nil {
		return err
	}
	u, err := s.store.UserByEmail(ctx, p.Email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if !store.CheckPassword(u.PasswordHash, c.FormValue("password")) {
		s.log.Warn("sign-in failed", "email", p.Email, "ip", c.RealIP())
		if err := s.store.LoginFailed(ctx, accountKey, accountFailureLimit); err != nil {
			return err
		}
		if err := s.store.LoginFailed(ctx, ipKey, ipFailureLimit); err != nil {
			return err
		}
		if locked, err := s.lockedOut(c, &p, accountKey, ipKey); locked || err != nil {
			return err
		}
		p.Error = "Wrong email or password."
		return s.render(c, http.StatusUnauthorized, templates.LoginPage(p))
	}
	if err := s.store.LoginSucceeded(ctx, accountKey); err != nil {
		return err
	}
	token, expires, err := s.store.CreateSession(ctx, u.ID, c.RealIP(), c.Request().UserAgent())
	if err != nil {
		return err
	}
	s.setCookie(c, sessionCookie, token, expires)
	s.log.Info("signed in", "email", u.Email, "ip", c.RealIP())
	return c.Redirect(http.StatusSeeOther, p.Next)
}

// lockedOut answers 429 and reports true when any key is locked out.
func (s *Server) lockedOut(c *echo.Context, p *templates.LoginProps, keys ...string) (bool, error) {
	until, err := s.store.LoginLockedUntil(c.Request().Context(), keys...)
	if err != nil || until.IsZero() {
		return false, err
	}
	wait := time.Until(until)
	c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	p.Error = fmt.Sprintf("Too many failed sign-in attempts. Try again in %s (after %s UTC).",
		humanWait(wait), until.UTC().Format("15:04:05"))
	return true, s.render(c, http.StatusTooManyRequests, templates.LoginPage(*p))
}

func humanWait(d time.Duration) string {
	if d < 45*time.Second {
		return fmt.Sprintf("%d seconds", int(math.Ceil(d.Seconds())))
	}
	m := int(math.Ceil(d.Minutes()))
	if m == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

// safeNext keeps a post-login redirect on this site: a plain local path, with
// no backslash or control character a browser might read as another host.
func safeNext(next string) string {
	bad := !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsFunc(next, func(r rune) bool { return r == '\\' || unicode.IsControl(r) })
	if u, err := url.Parse(next); bad || err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}

func (s *Server) logout(c *echo.Context) error {
	if ck, err := c.Cookie(sessionCookie); err == nil {
		if err := s.store.DeleteSession(c.Request().Context(), ck.Value); err != nil {
			return err
		}
	}
	s.clearCookie(c, sessionCookie)
	s.flash(c, "success", "You have signed out.")
	return c.Redirect(http.StatusSeeOther, "/login")
}
