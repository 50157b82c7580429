package web

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"herald/store"
)

func TestValidationErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"one field", &store.ValidationError{Fields: map[string]string{"name": "Enter a name."}},
			"Some fields are invalid: name: Enter a name."},
		{"two fields, wrapped", fmt.Errorf("saving: %w", &store.ValidationError{Fields: map[string]string{"to": "Enter an address.", "name": "Enter a name."}}),
			"Some fields are invalid: name: Enter a name.; to: Enter an address."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ae := toAPIError(tt.err)
			if ae.Status != http.StatusUnprocessableEntity || ae.Message != tt.want {
				t.Errorf("got %d %q, want 422 %q", ae.Status, ae.Message, tt.want)
			}
		})
	}
}

// TestErrorPagesLeaveTheFlash leaves a flash for the next page, then asks
// for pages that fail: each error page shows its own message, not the
// flash, and leaves it for the normal page that follows.
func TestErrorPagesLeaveTheFlash(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	tooLarge := func() io.Reader {
		return strings.NewReader("name=x&pad=" + strings.Repeat("x", maxFormBody))
	}
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	type request struct {
		name         string
		method, path string
		body         func() io.Reader
		hdr          map[string]string
		status       int
	}
	requests := []request{
		{"form over the limit", http.MethodPost, "/lists", tooLarge, form, http.StatusRequestEntityTooLarge},
		{"form over the limit, chunked", http.MethodPost, "/lists", func() io.Reader { return chunked{tooLarge()} }, form, http.StatusRequestEntityTooLarge},
		{"absurd page number", http.MethodGet, "/contacts?page=368934881474191034", nil, nil, http.StatusUnprocessableEntity},
	}
	for _, path := range []string{"/nowhere", "/contacts/999", "/contacts/import/999", "/segments/999", "/templates/999", "/templates/999/versions",
		"/campaigns/999", "/campaigns/999/recipients", "/messages/999", "/lists/999", "/settings/relays/999"} {
		requests = append(requests, request{path, http.MethodGet, path, nil, nil, http.StatusNotFound})
	}
	for _, tc := range requests {
		t.Run(tc.name, func(t *testing.T) {
			if resp := h.postForm("/settings", url.Values{"org_name": {"Acme"}, "timezone": {"UTC"}}, nil); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("saving settings: got %d, want 303", resp.StatusCode)
			}
			var r io.Reader
			if tc.body != nil {
				r = tc.body()
			}
			resp := h.request(h.client, tc.method, tc.path, r, tc.hdr)
			if page := body(t, resp); resp.StatusCode != tc.status || strings.Contains(page, "Settings saved.") {
				t.Errorf("got %d with the flash %v, want %d without it", resp.StatusCode, strings.Contains(page, "Settings saved."), tc.status)
			}
			if page := body(t, h.get("/settings")); !strings.Contains(page, "Settings saved.") {
				t.Error("the page after the error lacks the flash")
			}
		})
	}
}
