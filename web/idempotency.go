package web

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"

	"github.com/labstack/echo/v5"

	"herald/store"
)

// maxIdempotencyKey is the longest Idempotency-Key header taken.
const maxIdempotencyKey = 255

// maxKeptAnswer is the largest answer kept for replay; a larger one is
// given once and its key released.
const maxKeptAnswer = 4 << 20

// spoolAbove is the body size past which an idempotent request's body
// waits in a file rather than in memory while it is hashed.
const spoolAbove = 1 << 20

// idempotent honours an Idempotency-Key header on a POST: the first
// successful answer is kept for a day, and a retry with the same key and
// the same request gets it again, marked Idempotent-Replayed, without the
// work being done twice. The same key with another request gets 422; while
// the first is running, 409. A failed request keeps nothing, so it can be
// retried with the same key.
func (s *Server) idempotent(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		r := c.Request()
		idemKey := r.Header.Get("Idempotency-Key")
		if r.Method != http.MethodPost || idemKey == "" {
			return next(c)
		}
		if len(idemKey) > maxIdempotencyKey || !printableASCII(idemKey) {
			return &apiError{Status: http.StatusBadRequest, Code: "bad_request",
				Message: "Idempotency-Key must be 1 to 255 printable ASCII characters, such as a UUID.",
				Fields:  map[string]string{"Idempotency-Key": "Use 1 to 255 printable ASCII characters."}}
		}
		sum, cleanup, err := s.hashBody(r)
		defer cleanup()
		if err != nil {
			return err
		}
		key := c.Get(ctxAPIKey).(store.APIKey)
		ctx := r.Context()
		state, ans, err := s.store.ClaimIdempotencyKey(ctx, key.ID, idemKey, r.Method, r.URL.RequestURI(), sum)
		switch {
		case err != nil:
			return err
		case state == store.IdempotencyMismatch:
			return &apiError{Status: http.StatusUnprocessableEntity, Code: "idempotency_mismatch",
				Message: "This Idempotency-Key was used for a different request in the last 24 hours: use a new key for a new request.",
				Fields:  map[string]string{"Idempotency-Key": "Already used for a different request."}}
		case state == store.IdempotencyRunning:
			c.Response().Header().Set("Retry-After", "1")
			return apiErr(http.StatusConflict, "idempotency_running",
				"The first request with this Idempotency-Key is still running: retry in a few seconds to get its answer.")
		case state == store.IdempotencyReplay:
			h := c.Response().Header()
			for k, v := range ans.Headers {
				h.Set(k, v)
			}
			h.Set("Idempotent-Replayed", "true")
			return c.Blob(ans.Status, ans.Headers["Content-Type"], ans.Body)
		}
		rec := &answerRecorder{ResponseWriter: c.Response(), status: http.StatusOK}
		c.SetResponse(rec)
		if err := next(c); err != nil {
			s.handleError(c, err)
		}
		c.SetResponse(rec.ResponseWriter)
		if rec.status >= 300 || rec.body.Len() > maxKeptAnswer {
			return s.store.ReleaseIdempotencyKey(ctx, key.ID, idemKey)
		}
		kept := store.Answer{Status: rec.status, Headers: map[string]string{}, Body: rec.body.Bytes()}
		for _, name := range []string{"Content-Type", "Location"} {
			if v := rec.Header().Get(name); v != "" {
				kept.Headers[name] = v
			}
		}
		return s.store.SaveAnswer(ctx, key.ID, idemKey, kept)
	}
}

// hashBody returns the SHA-256 of r's body and puts back a body that reads
// the same: from memory, or from a temporary file for a large upload,
// which cleanup removes. A multipart form is hashed by its parts' names,
// file names, types and contents, so that a retry whose client chose
// another boundary is the same request.
func (s *Server) hashBody(r *http.Request) ([]byte, func(), error) {
	noop := func() {}
	if r.Body == nil || r.Body == http.NoBody {
		sum := sha256.Sum256(nil)
		return sum[:], noop, nil
	}
	var head bytes.Buffer
	n, err := io.CopyN(&head, r.Body, spoolAbove+1)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, noop, err
	}
	var body io.ReadSeeker = bytes.NewReader(head.Bytes())
	cleanup := noop
	if n > spoolAbove {
		f, err := os.CreateTemp(s.dataDir, "idempotent-*.body")
		if err != nil {
			return nil, noop, err
		}
		cleanup = func() { f.Close(); os.Remove(f.Name()) }
		if _, err := io.Copy(f, io.MultiReader(&head, r.Body)); err != nil {
			return nil, cleanup, err
		}
		body = f
	}
	sum, err := bodyHash(r.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, cleanup, err
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return nil, cleanup, err
	}
	r.Body = io.NopCloser(body)
	return sum, cleanup, nil
}

// bodyHash hashes a body from its start; see hashBody.
func bodyHash(contentType string, body io.ReadSeeker) ([]byte, error) {
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	h := sha256.New()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		_, err := io.Copy(h, body)
		return h.Sum(nil), err
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return h.Sum(nil), nil
		}
		if err != nil {
			// Not a readable form: the raw bytes are the request.
			if _, err := body.Seek(0, io.SeekStart); err != nil {
				return nil, err
			}
			h.Reset()
			_, err := io.Copy(h, body)
			return h.Sum(nil), err
		}
		fmt.Fprintf(h, "%q %q %q\n", p.FormName(), p.FileName(), p.Header.Get("Content-Type"))
		if _, err := io.Copy(h, p); err != nil {
			return nil, err
		}
		h.Write([]byte{0})
	}
}

// answerRecorder passes an answer on and keeps a copy of it.
type answerRecorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (a *answerRecorder) WriteHeader(code int) {
	a.status = code
	a.ResponseWriter.WriteHeader(code)
}

func (a *answerRecorder) Write(b []byte) (int, error) {
	if a.body.Len() <= maxKeptAnswer {
		a.body.Write(b)
	}
	return a.ResponseWriter.Write(b)
}

func (a *answerRecorder) Unwrap() http.ResponseWriter { return a.ResponseWriter }

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
