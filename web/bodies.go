package web

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v5"
)

// bodyClass is a kind of route by what its requests carry: the most a body
// may be, and what a body over it is told.
type bodyClass struct {
	limit   int64
	message string
}

// The route classes. Uploads get room for their other form fields on top of
// the file; the file's own cap is checked while it streams in.
var (
	formBody = bodyClass{maxFormBody,
		fmt.Sprintf("The form is larger than %s, the most Herald takes in one form: shorten its longest field and send it again.", sizeText(maxFormBody))}
	apiBody = bodyClass{maxJSONBody,
		fmt.Sprintf("The request body is larger than %s, the most an API request may be.", sizeText(maxJSONBody))}
	csvUpload = bodyClass{maxUpload + 1<<20,
		fmt.Sprintf("The upload is larger than %s, the most Herald takes in one file: split it into smaller files.", sizeText(maxUpload))}
	imageUpload = bodyClass{maxImage + 1<<20,
		fmt.Sprintf("The upload is larger than %s, the most an image may be: make it smaller first.", sizeText(maxImage))}
	messageBody = bodyClass{maxMessageBody,
		fmt.Sprintf("The request body is larger than %s, the most a message with its attachments may be.", sizeText(maxMessageBody))}
	eventsUpload = bodyClass{maxEventsBody,
		fmt.Sprintf("The request body is larger than %s, the most a batch of events may be: send fewer at a time.", sizeText(maxEventsBody))}
)

// maxFormBody caps a form from the admin or a public page.
const maxFormBody = 2 << 20

// maxJSONBody caps an API request.
const maxJSONBody = 1 << 20

// maxEventsBody caps a batch of custom events: 1,000 with room for their
// properties.
const maxEventsBody = 10 << 20

// sizeText writes a whole number of megabytes or gigabytes for people.
func sizeText(n int64) string {
	if n >= 1<<30 && n%(1<<30) == 0 {
		return fmt.Sprintf("%d GB", n>>30)
	}
	return fmt.Sprintf("%d MB", n>>20)
}

// tooLarge is the error a body over the class's limit gets.
func (b bodyClass) tooLarge() error {
	return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: b.message}
}

// bodyClassOf returns the class of the route a request matched.
func bodyClassOf(c *echo.Context) bodyClass {
	if b, ok := largeBodies[c.Request().Method+" "+c.Path()]; ok {
		return b
	}
	if isAPIPath(c.Request().URL.Path) {
		return apiBody
	}
	return formBody
}

// limitBodies holds every request body to its route's limit: a declared
// length over it is refused before anything is read, and a body that turns
// out longer fails the read that passes the limit, with the same 413, for
// whatever is reading it.
func limitBodies(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		r := c.Request()
		b := bodyClassOf(c)
		if r.ContentLength > b.limit {
			return b.tooLarge()
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &limitedBody{ReadCloser: r.Body, left: b.limit, class: b}
		}
		return next(c)
	}
}

// limitedBody reads at most left more bytes, then fails.
type limitedBody struct {
	io.ReadCloser
	left  int64
	class bodyClass
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, l.class.tooLarge()
	}
	// Read one byte past the limit, to tell a body of exactly the limit
	// from a longer one.
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.ReadCloser.Read(p)
	if int64(n) > l.left {
		n, l.left = int(l.left), -1
		return n, l.class.tooLarge()
	}
	l.left -= int64(n)
	return n, err
}

// readFailed is what a failed read of the body answers: the 413 when the
// body passed its route's limit, otherwise.
func readFailed(err, otherwise error) error {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return otherwise
}

// formValues reads the request's form fields. A body that cannot be read is
// an error, never an empty form: 413 over the route's limit, 422 when it is
// not a form.
func formValues(c *echo.Context) (url.Values, error) {
	v, err := c.FormValues()
	if err != nil {
		return nil, readFailed(err, &apiError{Status: http.StatusUnprocessableEntity, Code: "unreadable_form",
			Message: "The form could not be read (" + err.Error() + "). Reload the page and send it again."})
	}
	return v, nil
}

// readForms reads the fields of every form before anything else looks at
// them, so that a body that cannot be read is refused whoever asks first.
// net/http reports a form's parse error only once and then hands out an
// empty form, which echo's FormValue and CSRF token lookup would take as
// given. Upload routes are left alone: their handlers stream the body.
func readForms(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		r := c.Request()
		if isAPIPath(r.URL.Path) || isUpload(c) || !hasForm(r) {
			return next(c)
		}
		if _, err := formValues(c); err != nil {
			return err
		}
		return next(c)
	}
}

// hasForm reports whether a request carries a form body, or claims to.
func hasForm(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return false
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err != nil || mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data"
}

// isUpload reports whether the request's route takes a file.
func isUpload(c *echo.Context) bool {
	b := bodyClassOf(c)
	return b == csvUpload || b == imageUpload
}
