package web

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
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
// which cleanup removes.
func (s *Server) hashBody(r *http.Request) ([]byte, func(), error) {
	h := sha256.New()
	if r.Body == nil || r.Body == http.NoBody {
		return h.Sum(nil), func() {}, nil
	}
	var head bytes.Buffer
	n, err := io.CopyN(io.MultiWriter(&head, h), r.Body, spoolAbove+1)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, func() {}, err
	}
	if n <= spoolAbove {
		r.Body = io.NopCloser(&head)
		return h.Sum(nil), func() {}, nil
	}
	f, err := os.CreateTemp(s.dataDir, "idempotent-*.body")
	if err != nil {
		return nil, func() {}, err
	}
	cleanup := func() { f.Close(); os.Remove(f.Name()) }
	if err := spool(f, h, &head, r.Body); err != nil {
		return nil, cleanup, err
	}
	r.Body = f
	return h.Sum(nil), cleanup, nil
}

// spool writes head and then the rest of body to f and h, and rewinds f.
func spool(f *os.File, h hash.Hash, head io.Reader, body io.Reader) error {
	if _, err := io.Copy(io.MultiWriter(f, h), io.MultiReader(head, body)); err != nil {
		return err
	}
	_, err := f.Seek(0, io.SeekStart)
	return err
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
