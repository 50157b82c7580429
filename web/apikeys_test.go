package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var shownKey = regexp.MustCompile(`id="new-api-key">(herald_[a-z0-9_]+)<`)

func TestAPIKeyPagesCreateShowOnceAndRevoke(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	resp := h.postForm("/settings/api-keys", url.Values{"name": {""}, "scope": {"full"}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body(t, resp), "Give the key a name") {
		t.Fatalf("nameless key: got %d, want 422 with a message", resp.StatusCode)
	}
	resp = h.postForm("/settings/api-keys", url.Values{"name": {"Shop"}, "scope": {"full"}}, nil)
	page := body(t, resp)
	m := shownKey.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusCreated || m == nil {
		t.Fatalf("create key: got %d, want 201 showing the key", resp.StatusCode)
	}
	secret := m[1]
	if code, _ := h.api(secret, http.MethodGet, "/api/v1/me", nil); code != http.StatusOK {
		t.Fatalf("new key: got %d, want 200", code)
	}
	list := body(t, h.get("/settings/api-keys"))
	if strings.Contains(list, secret) {
		t.Fatal("the key list shows the secret again")
	}
	if !strings.Contains(list, "Shop") || strings.Contains(list, ">never<") && !strings.Contains(list, "UTC") {
		t.Fatal("the key list lacks the key or its last use")
	}
	id := regexp.MustCompile(`/settings/api-keys/(\d+)/revoke`).FindStringSubmatch(list)
	if id == nil {
		t.Fatal("no revoke button")
	}
	if resp := h.postForm("/settings/api-keys/"+id[1]+"/revoke", url.Values{}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: got %d", resp.StatusCode)
	}
	if code, _ := h.api(secret, http.MethodGet, "/api/v1/me", nil); code != http.StatusUnauthorized {
		t.Fatalf("revoked key: got %d, want 401", code)
	}
}
