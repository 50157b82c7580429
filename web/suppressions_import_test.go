package web

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"testing"

	"herald/store"
)

// multipartBody builds a multipart form with one file and some fields.
func multipartBody(t *testing.T, filename, content string, fields map[string]string) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	fw, err := w.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write([]byte(content))
	w.Close()
	return &b, w.FormDataContentType()
}

func TestSuppressionsImportFromCSV(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	ctx := context.Background()
	h.st.AddSuppression(ctx, store.SuppressionInput{Value: "old@example.com"})
	b, ct := multipartBody(t, "bounces.csv", "address,reason\nJane@Example.com,x\nold@example.com\n\n@spam.example\nnot valid\n", map[string]string{"reason": "Old bounces"})
	resp := h.request(http.DefaultClient, http.MethodPost, "/api/v1/suppressions/import", b,
		map[string]string{"Content-Type": ct, "Authorization": "Bearer " + key, "Sec-Fetch-Site": ""})
	var out struct {
		Data struct {
			Added, Already int
			Errors         []struct {
				Line   int
				Reason string
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("import: got %d, %v", resp.StatusCode, err)
	}
	if out.Data.Added != 2 || out.Data.Already != 1 || len(out.Data.Errors) != 1 || out.Data.Errors[0].Line != 6 {
		t.Fatalf("result: got %+v, want 2 added, 1 already there, line 6 refused", out.Data)
	}
	for _, addr := range []string{"jane@example.com", "anyone@spam.example"} {
		sp, ok, _ := h.st.Suppressed(ctx, addr)
		if !ok || sp.Reason != "Old bounces" {
			t.Errorf("%s: got %+v %v, want suppressed with the reason", addr, sp, ok)
		}
	}

	h.signIn()
	b, ct = multipartBody(t, "more.txt", "example.org\n", nil)
	resp = h.request(h.client, http.MethodPost, "/contacts/suppressions/import", b, map[string]string{"Content-Type": ct})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("UI import: got %d, want 303", resp.StatusCode)
	}
	if _, ok, _ := h.st.Suppressed(ctx, "x@example.org"); !ok {
		t.Fatal("UI import: a first line that is a domain must not be taken for a header")
	}
}
