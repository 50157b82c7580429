package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v5"

	"herald/scheduler/sources"
	"herald/store"
	"herald/templates"
)

// apiError is an error with the code and fields the API reports.
type apiError struct {
	Status  int               `json:"-"`
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields"`
	// RequestID names the request in Herald's log.
	RequestID string `json:"request_id,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

// StatusCode lets echo see the status.
func (e *apiError) StatusCode() int { return e.Status }

func apiErr(status int, code, message string) error {
	return &apiError{Status: status, Code: code, Message: message}
}

// errorCodes names each status in API error answers.
var errorCodes = map[int]string{
	http.StatusBadRequest:            "bad_request",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusConflict:              "conflict",
	http.StatusRequestEntityTooLarge: "too_large",
	http.StatusUnsupportedMediaType:  "unsupported_media_type",
	http.StatusUnprocessableEntity:   "validation_failed",
	http.StatusTooManyRequests:       "rate_limited",
	http.StatusInternalServerError:   "internal",
	http.StatusInsufficientStorage:   "insufficient_storage",
}

// diskFullMessage is what a full disk tells the person, in the UI and the API.
const diskFullMessage = "The disk is full: free some space on the server, then try again."

// toAPIError maps any error a handler returns to what the client is told.
func toAPIError(err error) *apiError {
	var ae *apiError
	var ve *store.ValidationError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &ve):
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "validation_failed",
			Message: "Some fields are invalid: " + strings.Join(ve.Messages(), "; "), Fields: ve.Fields}
	case errors.Is(err, sources.ErrTestBusy):
		return &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: upperFirst(err.Error()) + "."}
	case errors.Is(err, store.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "Nothing exists at this address."}
	case errors.Is(err, store.ErrConflict):
		return &apiError{Status: http.StatusConflict, Code: "conflict", Message: upperFirst(err.Error()) + "."}
	case errors.Is(err, store.ErrSecretUnreadable):
		return &apiError{Status: http.StatusConflict, Code: "secret_unreadable",
			Message: "A saved password or key cannot be decrypted with this Herald's secret key (data/secret.key or HERALD_SECRET_KEY). Enter it again, or restore the key that was used to save it."}
	case store.IsDiskFull(err):
		return &apiError{Status: http.StatusInsufficientStorage, Code: "insufficient_storage", Message: diskFullMessage + bulkProgress(err)}
	case errors.As(err, &he):
		msg := he.Message
		if msg == "" {
			msg = http.StatusText(he.Code)
		}
		return &apiError{Status: he.Code, Code: codeFor(he.Code), Message: msg}
	}
	if sc := echo.StatusCode(err); sc != 0 && sc < 500 {
		return &apiError{Status: sc, Code: codeFor(sc), Message: http.StatusText(sc)}
	}
	return &apiError{Status: http.StatusInternalServerError, Code: "internal",
		Message: "Something went wrong on Herald's side. The details are in its log." + bulkProgress(err)}
}

// bulkProgress tells how far a bulk action got before err stopped it, or "".
func bulkProgress(err error) string {
	var be *store.BulkError
	if errors.As(err, &be) {
		return " " + be.Progress()
	}
	return ""
}

func codeFor(status int) string {
	if c, ok := errorCodes[status]; ok {
		return c
	}
	return strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
}

// handleError is the one place errors become responses: JSON under /api/, an
// htmx fragment for htmx requests and a page otherwise.
func (s *Server) handleError(c *echo.Context, err error) {
	if resp, _ := echo.UnwrapResponse(c.Response()); resp != nil && resp.Committed {
		return
	}
	ae := toAPIError(err)
	if ae.Fields == nil {
		ae.Fields = map[string]string{}
	}
	r := c.Request()
	if ae.Status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err, "request_id", requestID(c))
	}
	var werr error
	switch {
	case r.Method == http.MethodHead:
		werr = c.NoContent(ae.Status)
	case isAPIPath(r.URL.Path):
		out := *ae
		out.RequestID = requestID(c)
		werr = c.JSON(ae.Status, map[string]any{"error": &out})
	case r.Header.Get("HX-Request") == "true":
		c.Response().Header().Add("Vary", "HX-Request")
		werr = s.render(c, ae.Status, templates.FlashMessage(templates.Flash{Kind: "error", Text: pageMessage(ae)}))
	default:
		c.Response().Header().Add("Vary", "HX-Request")
		sh := s.errorShell(c, "", http.StatusText(ae.Status))
		if _, ok := currentUser(c); ok {
			werr = s.render(c, ae.Status, templates.ErrorPage(sh, ae.Status, pageMessage(ae)))
		} else {
			werr = s.render(c, ae.Status, templates.PlainErrorPage(sh, ae.Status, pageMessage(ae)))
		}
	}
	if werr != nil {
		s.log.Error("writing error response", "err", werr)
	}
}

// pageMessage is what a person sees for an error in the admin UI.
func pageMessage(ae *apiError) string {
	switch ae.Status {
	case http.StatusNotFound:
		return "This page does not exist, or what it showed has been deleted."
	case http.StatusMethodNotAllowed:
		return "This address does not accept that kind of request."
	}
	return ae.Message
}

// isAPIPath reports whether a path belongs to the JSON API.
func isAPIPath(p string) bool { return p == "/api" || strings.HasPrefix(p, "/api/") }
