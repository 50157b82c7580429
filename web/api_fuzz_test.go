package web

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/labstack/echo/v5"
)

// FuzzReadList: whatever the query, readList answers a list query or a
// 400 naming a parameter, never panics, and what it lets through is what
// the list allows.
func FuzzReadList(f *testing.F) {
	for _, seed := range []string{"", "sort=email&order=asc", "after=0", "after=-1", "after=9&sort=email", "created_from=2026-01-01&created_to=2026-13-40",
		"q=%00", "page=0", "per_page=999999", "sort=id&after=5&order=desc", "created_to=2026-05-01T09:00:00Z"} {
		f.Add(seed)
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/contacts", nil)
		req.URL.RawQuery = query
		c := e.NewContext(req, httptest.NewRecorder())
		q, err := readList(c, contactList, time.UTC)
		if err != nil {
			ae := toAPIError(err)
			if ae.Status != http.StatusBadRequest && ae.Status != http.StatusUnprocessableEntity || len(ae.Fields) == 0 {
				t.Fatalf("%q: got %+v, want a 400 or 422 naming a field", query, ae)
			}
			return
		}
		if q.Order.Sort != "" && !slices.Contains(contactList.Sorts, q.Order.Sort) {
			t.Fatalf("%q: sort %q let through", query, q.Order.Sort)
		}
		if q.Order.Cursor && (q.Order.Sort != "" || q.Order.After < 0) {
			t.Fatalf("%q: a cursor with sort %q after %d", query, q.Order.Sort, q.Order.After)
		}
		if q.PerPage < 1 || q.PerPage > 500 || q.Page < 1 {
			t.Fatalf("%q: page %d of %d", query, q.Page, q.PerPage)
		}
	})
}

// FuzzBodyHash: a multipart form hashes the same whatever its boundary,
// and differently when a part's content changes.
func FuzzBodyHash(f *testing.F) {
	f.Add("people.csv", "email\nann@example.com\n", "upsert", "abc")
	f.Add("", "", "", "x")
	f.Add("a\"b.csv", "\r\n--x\r\n", "--", "0123456789")
	f.Fuzz(func(t *testing.T, name, content, mode, boundary string) {
		form := func(b string) ([]byte, string, bool) {
			var buf bytes.Buffer
			w := multipart.NewWriter(&buf)
			if err := w.SetBoundary(b); err != nil {
				return nil, "", false
			}
			w.WriteField("mode", mode)
			fw, _ := w.CreateFormFile("file", name)
			fw.Write([]byte(content))
			w.Close()
			return buf.Bytes(), w.FormDataContentType(), true
		}
		one, ctype1, ok := form("herald-one-boundary")
		two, ctype2, ok2 := form(boundary)
		if !ok || !ok2 || !readable(one, "herald-one-boundary") || !readable(two, boundary) {
			return // a form that cannot be read is hashed as raw bytes
		}
		h1, err1 := bodyHash(ctype1, bytes.NewReader(one))
		h2, err2 := bodyHash(ctype2, bytes.NewReader(two))
		if err1 != nil || err2 != nil || !bytes.Equal(h1, h2) {
			t.Fatalf("the same form with boundaries %q and %q: %x (%v) and %x (%v)", "herald-one-boundary", boundary, h1, err1, h2, err2)
		}
		other, ctype3, _ := form(boundary)
		other = bytes.Replace(other, []byte("Content-Type: application/octet-stream"), []byte("Content-Type: text/plain"), 1)
		if h3, _ := bodyHash(ctype3, bytes.NewReader(other)); bytes.Equal(h1, h3) {
			t.Fatalf("a part's type changed and the hash did not")
		}
		raw := url.Values{"a": {content}}.Encode()
		if h4, _ := bodyHash("application/x-www-form-urlencoded", bytes.NewReader([]byte(raw))); bytes.Equal(h4, h1) && raw != string(one) {
			t.Fatalf("a form and a multipart body hash the same")
		}
	})
}

// readable reports whether a multipart body reads to its end.
func readable(body []byte, boundary string) bool {
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := r.NextPart()
		if err != nil {
			return err == io.EOF
		}
		if _, err := io.Copy(io.Discard, p); err != nil {
			return false
		}
	}
}
