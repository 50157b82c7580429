package web

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"

	"herald/store"
)

const (
	sessionCookie = "herald_session"
	csrfCookie    = "herald_csrf"
	csrfField     = "_csrf"
	csrfHeader    = "X-CSRF-Token"
	ctxCSRFInBody = "csrf_in_body"
	ctxUser       = "user"
	ctxAPIKey     = "api_key"
	ctxCSRF       = "csrf"
	ctxRequestID  = "request_id"
)

// contentSecurityPolicy allows only Herald's own scripts and styles: no inline
// script, no eval, and no framing of the admin.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// headAsGet routes HEAD like GET, so every page, asset and the health check
// answer uptime monitors. net/http still sees the original HEAD request and
// drops the body.
func headAsGet(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if r := c.Request(); r.Method == http.MethodHead {
			get := *r
			get.Method = http.MethodGet
			c.SetRequest(&get)
		}
		return next(c)
	}
}

func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		return next(c)
	}
}

func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return middleware.Recover()(next)
}

func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		start := time.Now()
		err := next(c)
		_, status := echo.ResolveResponseStatus(c.Response(), err)
		if err != nil {
			// The error handler answers with this status; log the same.
			status = toAPIError(err).Status
		}
		path := c.Request().URL.Path
		level := s.log.Info
		if strings.HasPrefix(path, "/static/") || path == "/healthz" || isTrackingPath(path) {
			level = s.log.Debug
		}
		level("http", "method", c.Request().Method, "path", path, "status", status,
			"took", time.Since(start).Round(time.Microsecond), "ip", c.RealIP(), "request_id", requestID(c))
		return err
	}
}

// needsSession reports whether a path can use the admin session: everything
// but the API, static files and the health check.
func needsSession(p string) bool {
	return !isAPIPath(p) && !strings.HasPrefix(p, "/static/") && p != "/healthz" && !isTokenPath(p)
}

// loadSession puts the signed-in user, if any, in the context.
func (s *Server) loadSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		ck, err := c.Cookie(sessionCookie)
		if err != nil || ck.Value == "" || !needsSession(c.Request().URL.Path) {
			return next(c)
		}
		sess, err := s.store.SessionByToken(c.Request().Context(), ck.Value)
		if errors.Is(err, store.ErrNotFound) {
			s.clearCookie(c, sessionCookie)
			return next(c)
		}
		if err != nil {
			return err
		}
		c.Set(ctxUser, sess.User)
		return next(c)
	}
}

// currentUser returns the signed-in user.
func currentUser(c *echo.Context) (store.User, bool) {
	u, ok := c.Get(ctxUser).(store.User)
	return u, ok
}

// requireUser sends anonymous visitors to sign in, or to setup while the
// instance has no owner yet.
func (s *Server) requireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if _, ok := currentUser(c); ok {
			return next(c)
		}
		n, err := s.store.CountUsers(c.Request().Context())
		if err != nil {
			return err
		}
		target := "/setup"
		if n > 0 {
			target = "/login"
			if r := c.Request(); r.Method == http.MethodGet && r.URL.Path != "/" {
				target += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
		}
		if c.Request().Header.Get("HX-Request") == "true" {
			c.Response().Header().Set("HX-Redirect", target)
			return c.NoContent(http.StatusUnauthorized)
		}
		return c.Redirect(http.StatusSeeOther, target)
	}
}

// requireAPIKey admits only requests with a live bearer key whose scope allows
// the method.
func (s *Server) requireAPIKey(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		scheme, token, _ := strings.Cut(c.Request().Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="herald"`)
			return apiErr(http.StatusUnauthorized, "unauthorized", "Send an API key as \"Authorization: Bearer <key>\". Create keys in Settings → API keys.")
		}
		key, err := s.store.AuthenticateAPIKey(c.Request().Context(), strings.TrimSpace(token))
		if errors.Is(err, store.ErrNotFound) {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="herald", error="invalid_token"`)
			return apiErr(http.StatusUnauthorized, "unauthorized", "The API key is unknown or has been revoked.")
		}
		if err != nil {
			return err
		}
		c.Set(ctxAPIKey, key)
		return next(c)
	}
}

// anyScope is the scope of the routes every key may call: who am I.
const anyScope = "any"

// requireScope admits only keys that carry scope.
func requireScope(scope string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			if key := c.Get(ctxAPIKey).(store.APIKey); scope != anyScope && !key.HasScope(scope) {
				return apiErr(http.StatusForbidden, "insufficient_scope", fmt.Sprintf(
					"This call needs a key with the %s scope, and this key has %s. Create a key with it in Settings → API keys.",
					scope, strings.Join(key.Scopes, ", ")))
			}
			return next(c)
		}
	}
}

// requestIDHeader names the request in logs, answers and error envelopes.
const requestIDHeader = "X-Request-Id"

// requestIDs gives every request an id: the caller's own X-Request-Id when
// it is a sane token, or a new one, and sends it back on the answer.
func requestIDs(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		id := c.Request().Header.Get(requestIDHeader)
		if len(id) > 128 || strings.TrimLeft(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") != "" {
			id = ""
		}
		if id == "" {
			id = rand.Text()
		}
		c.Set(ctxRequestID, id)
		c.Response().Header().Set(requestIDHeader, id)
		return next(c)
	}
}

// requestID is the id requestIDs gave c.
func requestID(c *echo.Context) string {
	id, _ := c.Get(ctxRequestID).(string)
	return id
}

func (s *Server) setCookie(c *echo.Context, name, value string, expires time.Time) {
	c.SetCookie(&http.Cookie{
		Name: name, Value: value, Path: "/", Expires: expires,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(),
	})
}

func (s *Server) clearCookie(c *echo.Context, name string) {
	c.SetCookie(&http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}
