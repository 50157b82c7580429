package web

import (
	"crypto/subtle"
	"errors"
	"io"
	"mime/multipart"
	"net/http"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
)

// csrf protects every state-changing request that a browser could send with
// Herald's cookies. The API is exempt: it authenticates with a bearer header
// that a foreign site cannot make a browser send. The token cookie is Secure
// whenever the public base URL is https.
//
// Browsers that send Sec-Fetch-Site are judged by it. Others give the token
// in the X-CSRF-Token header (every htmx request has it) or, from a plain
// form, in its _csrf field. Uploads must not be parsed here, or their
// handlers could not stream them: with the header they are checked here, and
// without it the check is left to the upload's handler, which reads the
// _csrf field as the first part of the body (see uploadParts).
func (s *Server) csrf() echo.MiddlewareFunc {
	config := func(secure bool, lookup string) echo.MiddlewareFunc {
		return middleware.CSRFWithConfig(middleware.CSRFConfig{
			Skipper:        func(c *echo.Context) bool { return !needsSession(c.Request().URL.Path) },
			TokenLookup:    lookup,
			ContextKey:     ctxCSRF,
			CookieName:     csrfCookie,
			CookiePath:     "/",
			CookieHTTPOnly: true,
			CookieSecure:   secure,
			CookieSameSite: http.SameSiteLaxMode,
			AllowSecFetchSiteFunc: func(*echo.Context) (bool, error) {
				return false, csrfRefused(nil)
			},
			ErrorHandler: func(_ *echo.Context, err error) error { return csrfRefused(err) },
		})
	}
	const formLookup, uploadLookup = "header:" + csrfHeader + ",form:" + csrfField, "header:" + csrfHeader
	forms := [2]echo.MiddlewareFunc{config(false, formLookup), config(true, formLookup)}
	uploads := [2]echo.MiddlewareFunc{config(false, uploadLookup), config(true, uploadLookup)}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		formNext := [2]echo.HandlerFunc{forms[0](next), forms[1](next)}
		uploadNext := [2]echo.HandlerFunc{uploads[0](next), uploads[1](next)}
		return func(c *echo.Context) error {
			i := 0
			if s.secureCookies() {
				i = 1
			}
			if !isUpload(c) || !needsSession(c.Request().URL.Path) {
				return formNext[i](c)
			}
			h := c.Request().Header
			if h.Get(echo.HeaderSecFetchSite) == "" && h.Get(csrfHeader) == "" {
				c.Set(ctxCSRFInBody, true)
				return next(c)
			}
			return uploadNext[i](c)
		}
	}
}

// csrfRefused is the answer to a request that failed the CSRF check.
func csrfRefused(cause error) error {
	err := echo.NewHTTPError(http.StatusForbidden,
		"This form came from another site or has expired. Go back, reload the page and try again.")
	if cause != nil {
		return err.Wrap(cause)
	}
	return err
}

// uploadParts returns a reader of an upload's parts, or notMultipart when
// the body is not multipart. When csrf left the token to the handler, the
// first part must be the _csrf field: it is checked, in constant time,
// before any file is read.
func uploadParts(c *echo.Context, notMultipart error) (*multipart.Reader, error) {
	mr, err := c.Request().MultipartReader()
	inBody := c.Get(ctxCSRFInBody) == true
	switch {
	case err != nil && inBody:
		return nil, csrfRefused(err)
	case err != nil:
		return nil, notMultipart
	case !inBody:
		return mr, nil
	}
	ck, err := c.Cookie(csrfCookie)
	if err != nil || ck.Value == "" {
		return nil, csrfRefused(err)
	}
	part, err := mr.NextPart()
	if err != nil {
		return nil, csrfRefused(err)
	}
	if part.FormName() != csrfField {
		return nil, csrfRefused(errors.New("the upload does not start with the token"))
	}
	token, err := io.ReadAll(io.LimitReader(part, 256))
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(token, []byte(ck.Value)) != 1 {
		return nil, csrfRefused(middleware.ErrCSRFInvalid)
	}
	c.Set(ctxCSRF, ck.Value)
	return mr, nil
}
