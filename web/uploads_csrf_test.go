package web

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"herald/store"
)

// uploadPart is one part of a multipart upload, in the order given.
type uploadPart struct{ name, fileName, content string }

// writeParts writes parts as a multipart body to w and closes it.
func writeParts(w io.WriteCloser, mw *multipart.Writer, parts []uploadPart) error {
	for _, p := range parts {
		var pw io.Writer
		var err error
		if p.fileName != "" {
			pw, err = mw.CreateFormFile(p.name, p.fileName)
		} else {
			pw, err = mw.CreateFormField(p.name)
		}
		if err != nil {
			return err
		}
		if _, err := io.WriteString(pw, p.content); err != nil {
			return err
		}
	}
	if err := mw.Close(); err != nil {
		return err
	}
	return w.Close()
}

// tokenWithoutFetchMetadata signs in and loads a page the way a browser that
// sends no Sec-Fetch-Site does, which gives it a CSRF cookie and token.
func tokenWithoutFetchMetadata(t *testing.T, h *harness) string {
	t.Helper()
	h.signIn()
	resp := h.request(h.client, http.MethodGet, "/contacts/import", nil, map[string]string{"Sec-Fetch-Site": ""})
	token := csrfFrom(t, body(t, resp))
	if token == "" || strings.HasPrefix(token, "_echo") {
		t.Fatalf("token: got %q, want a real one", token)
	}
	return token
}

func TestUploadsWithoutFetchMetadata(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	token := tokenWithoutFetchMetadata(t, h)
	png := string(testImage(t, "png"))
	// Each route's file, different each time so that every upload adds.
	routes := []struct {
		path  string
		file  func(n int) uploadPart
		count func() int
	}{
		{"/contacts/import", func(n int) uploadPart {
			return uploadPart{"file", "people.csv", fmt.Sprintf("email\nann%d@example.com\n", n)}
		}, func() int {
			jobs, _ := h.st.Imports(context.Background(), 100)
			return len(jobs)
		}},
		{"/contacts/suppressions/import", func(n int) uploadPart {
			return uploadPart{"file", "blocked.csv", fmt.Sprintf("bad%d@example.com\n", n)}
		}, func() int {
			_, total, _ := h.st.Suppressions(context.Background(), "", store.Newest, 1, 100)
			return total
		}},
		{"/templates/media", func(int) uploadPart { return uploadPart{"file", "logo.png", png} }, func() int {
			ms, _ := h.st.MediaList(context.Background())
			return len(ms)
		}},
	}
	field := func(v string) uploadPart { return uploadPart{name: csrfField, content: v} }
	file := uploadPart{name: "file"} // stands for the route's file
	n := 0
	for _, r := range routes {
		for _, tc := range []struct {
			name  string
			hdr   map[string]string
			parts []uploadPart
			want  int
		}{
			{"token in the header", map[string]string{"X-CSRF-Token": token}, []uploadPart{file}, http.StatusSeeOther},
			{"token as the first field", nil, []uploadPart{field(token), file}, http.StatusSeeOther},
			{"same origin, no token", map[string]string{"Sec-Fetch-Site": "same-origin"}, []uploadPart{file}, http.StatusSeeOther},
			{"wrong token in the header", map[string]string{"X-CSRF-Token": "forged"}, []uploadPart{field(token), file}, http.StatusForbidden},
			{"wrong token as the field", nil, []uploadPart{field("forged"), file}, http.StatusForbidden},
			{"empty token as the field", nil, []uploadPart{field(""), file}, http.StatusForbidden},
			{"no token", nil, []uploadPart{file}, http.StatusForbidden},
			{"token after the file", nil, []uploadPart{file, field(token)}, http.StatusForbidden},
			{"cross-site with a token", map[string]string{"Sec-Fetch-Site": "cross-site", "X-CSRF-Token": token}, []uploadPart{field(token), file}, http.StatusForbidden},
		} {
			n++
			parts := make([]uploadPart, len(tc.parts))
			for i, p := range tc.parts {
				if parts[i] = p; p == file {
					parts[i] = r.file(n)
				}
			}
			t.Run(r.path+" "+tc.name, func(t *testing.T) {
				before := r.count()
				pr, pw := io.Pipe()
				mw := multipart.NewWriter(pw)
				go writeParts(pw, mw, parts)
				hdr := map[string]string{"Content-Type": mw.FormDataContentType(), "Sec-Fetch-Site": ""}
				for k, v := range tc.hdr {
					hdr[k] = v
				}
				resp := h.request(h.client, http.MethodPost, r.path, pr, hdr)
				page := body(t, resp)
				pr.CloseWithError(io.ErrClosedPipe)
				if resp.StatusCode != tc.want {
					t.Fatalf("got %d %.300q, want %d", resp.StatusCode, page, tc.want)
				}
				forbidden := tc.want == http.StatusForbidden
				if forbidden && !strings.Contains(page, "reload the page") {
					t.Errorf("403 page: got %.300q, want it to say to reload the page", page)
				}
				if after := r.count(); (after > before) == forbidden {
					t.Errorf("stored: got %d before, %d after, want a new one only when allowed", before, after)
				}
			})
		}
	}
	if left := audUploadsLeft(t, h); len(left) != 3 {
		t.Errorf("uploaded files left: got %v, want only the 3 import drafts'", left)
	}
}

// TestUploadStreamsToTheHandler holds back the end of an upload: the
// handler must already be writing the file to disk, which it cannot do if
// anything before it parsed the multipart body.
func TestUploadStreamsToTheHandler(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	token := tokenWithoutFetchMetadata(t, h)
	for _, tc := range []struct {
		name  string
		hdr   map[string]string
		first []uploadPart
	}{
		{"token in the header", map[string]string{"X-CSRF-Token": token}, nil},
		{"token as the first field", nil, []uploadPart{{name: csrfField, content: token}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			mw := multipart.NewWriter(pw)
			hdr := map[string]string{"Content-Type": mw.FormDataContentType(), "Sec-Fetch-Site": ""}
			for k, v := range tc.hdr {
				hdr[k] = v
			}
			req, err := http.NewRequest(http.MethodPost, h.ts.URL+"/contacts/import", pr)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range hdr {
				if v != "" {
					req.Header.Set(k, v)
				}
			}
			answer := make(chan *http.Response, 1)
			go func() {
				resp, err := h.client.Do(req)
				if err != nil {
					resp = &http.Response{StatusCode: 0, Status: err.Error(), Header: http.Header{}, Body: http.NoBody}
				}
				answer <- resp
			}()
			writeErr := make(chan error, 1)
			go func() {
				for _, p := range tc.first {
					fw, _ := mw.CreateFormField(p.name)
					io.WriteString(fw, p.content)
				}
				fw, err := mw.CreateFormFile("file", "big.csv")
				if err == nil {
					_, err = io.WriteString(fw, "email\n"+strings.Repeat("someone@example.com\n", 4096))
				}
				writeErr <- err
			}()
			if err := <-writeErr; err != nil {
				t.Fatal(err)
			}
			// The rest of the body is held back until the handler has started
			// writing the file.
			dir := filepath.Join(filepath.Dir(h.st.Path()), "imports")
			deadline := time.Now().Add(20 * time.Second)
			for files, _ := filepath.Glob(filepath.Join(dir, "upload-*")); len(files) == 0; files, _ = filepath.Glob(filepath.Join(dir, "upload-*")) {
				select {
				case resp := <-answer:
					t.Fatalf("answered %q before the upload ended", resp.Status)
				default:
				}
				if time.Now().After(deadline) {
					pw.CloseWithError(io.ErrUnexpectedEOF)
					t.Fatal("the handler did not start writing the file before the body ended: something read the body first")
				}
				time.Sleep(5 * time.Millisecond)
			}
			if err := writeParts(pw, mw, nil); err != nil {
				t.Fatal(err)
			}
			resp := <-answer
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/contacts/import/") {
				t.Fatalf("got %d to %q, want 303 to the mapping step", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

// TestFormsWithoutFetchMetadataStillNeedTheToken checks plain forms, which
// carry the token in a field and work without JavaScript.
func TestFormsWithoutFetchMetadataStillNeedTheToken(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	token := tokenWithoutFetchMetadata(t, h)
	for _, tc := range []struct {
		name string
		form url.Values
		hdr  map[string]string
		want int
	}{
		{"field", url.Values{csrfField: {token}}, nil, http.StatusSeeOther},
		{"header", url.Values{}, map[string]string{"X-CSRF-Token": token}, http.StatusSeeOther},
		{"wrong field", url.Values{csrfField: {"forged"}}, nil, http.StatusForbidden},
		{"none", url.Values{}, nil, http.StatusForbidden},
		{"cross-site", url.Values{csrfField: {token}}, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.form.Set("name", "List "+tc.name)
			tc.form.Set("opt_in", "single")
			tc.form.Set("visibility", "private")
			hdr := map[string]string{"Sec-Fetch-Site": ""}
			for k, v := range tc.hdr {
				hdr[k] = v
			}
			if resp := h.postForm("/lists", tc.form, hdr); resp.StatusCode != tc.want {
				t.Errorf("got %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

// TestUploadFormsPutTheTokenFirst: a browser sends fields in the form's
// order, and an upload's handler reads the token only as the first part.
func TestUploadFormsPutTheTokenFirst(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	uploadForm := regexp.MustCompile(`<form[^>]*enctype="multipart/form-data"[^>]*>`)
	tokenFirst := regexp.MustCompile(`<form[^>]*enctype="multipart/form-data"[^>]*>\s*<input type="hidden" name="_csrf"`)
	for _, path := range []string{"/contacts/import", "/contacts/suppressions", "/templates/media"} {
		page := body(t, h.get(path))
		if n, first := len(uploadForm.FindAllString(page, -1)), len(tokenFirst.FindAllString(page, -1)); n == 0 || first != n {
			t.Errorf("%s: %d upload forms, %d with the token first; want all", path, n, first)
		}
	}
}
