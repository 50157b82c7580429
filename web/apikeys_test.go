package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"herald/store"
)

var shownKey = regexp.MustCompile(`id="new-api-key">(herald_[a-z0-9_]+)<`)

func TestAPIKeyPagesCreateShowOnceAndRevoke(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	resp := h.postForm("/settings/api-keys", url.Values{"name": {""}, "scopes": {"read"}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body(t, resp), "Give the key a name") {
		t.Fatalf("nameless key: got %d, want 422 with a message", resp.StatusCode)
	}
	resp = h.postForm("/settings/api-keys", url.Values{"name": {"Shop"}}, nil)
	if page := body(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Choose at least one scope") {
		t.Fatalf("key without scopes: got %d, want 422 with a message", resp.StatusCode)
	}
	resp = h.postForm("/settings/api-keys", url.Values{"name": {"Shop"}, "scopes": {"read", "send"}, "send": {"abc"}}, nil)
	if page := body(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Give requests a second from 0 to 100000") ||
		!strings.Contains(page, `value="abc"`) {
		t.Fatalf("a limit that is no number: got %d, want 422 keeping what was typed", resp.StatusCode)
	}
	resp = h.postForm("/settings/api-keys", url.Values{"name": {"Shop"}, "scopes": {"read", "send"}, "send": {"5"}}, nil)
	page := body(t, resp)
	m := shownKey.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusCreated || m == nil {
		t.Fatalf("create key: got %d, want 201 showing the key", resp.StatusCode)
	}
	secret := m[1]
	code, out := h.api(secret, http.MethodGet, "/api/v1/me", nil)
	if data, _ := out["data"].(map[string]any); code != http.StatusOK || fmt.Sprint(data["scopes"]) != "[read send]" {
		t.Fatalf("new key: got %d %v, want 200 with scopes read and send", code, out)
	}
	if resp, _ := h.apiWith(secret, http.MethodPost, "/api/v1/messages", map[string]any{}, nil); resp.Header.Get("X-RateLimit-Limit") != "5" {
		t.Fatalf("the key's send limit: got %q, want 5", resp.Header.Get("X-RateLimit-Limit"))
	}
	list := body(t, h.get("/settings/api-keys"))
	if strings.Contains(list, secret) {
		t.Fatal("the key list shows the secret again")
	}
	if !strings.Contains(list, "Shop") || strings.Contains(list, ">never<") && !strings.Contains(list, "UTC") {
		t.Fatal("the key list lacks the key or its last use")
	}
	id := regexp.MustCompile(`/settings/api-keys/(\d+)/revoke`).FindStringSubmatch(list)
	if id == nil || !strings.Contains(list, "read default, write default, send 5") {
		t.Fatal("no revoke button, or no limits")
	}

	// The key's own limits, and the install's.
	if resp := h.postForm("/settings/api-keys/"+id[1]+"/limits", url.Values{"read": {"-3"}}, nil); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(body(t, resp), "The limits were not saved") {
		t.Fatalf("a negative key limit: got %d, want 422 with a message", resp.StatusCode)
	}
	if resp := h.postForm("/settings/api-keys/"+id[1]+"/limits", url.Values{"read": {"9"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("key limits: got %d, want 303", resp.StatusCode)
	}
	if resp, _ := h.apiWith(secret, http.MethodGet, "/api/v1/me", nil, nil); resp.Header.Get("X-RateLimit-Limit") != "9" {
		t.Fatalf("the key's read limit: got %q, want 9", resp.Header.Get("X-RateLimit-Limit"))
	}
	if resp := h.postForm("/settings/api-keys/limits", url.Values{"read": {"10"}, "write": {""}, "send": {"30"}}, nil); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(body(t, resp), "Give requests a second from 1 to 100000") {
		t.Fatalf("an install limit left blank: got %d, want 422", resp.StatusCode)
	}
	if resp := h.postForm("/settings/api-keys/limits", url.Values{"read": {"10"}, "write": {"20"}, "send": {"30"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("install limits: got %d, want 303", resp.StatusCode)
	}
	_, writer, _ := h.st.CreateAPIKey(context.Background(), store.NewAPIKey{Name: "writer", Scopes: []string{store.ScopeWrite}})
	if resp, _ := h.apiWith(writer, http.MethodPost, "/api/v1/contacts", map[string]any{}, nil); resp.Header.Get("X-RateLimit-Limit") != "20" {
		t.Fatalf("the install's write limit: got %q, want 20", resp.Header.Get("X-RateLimit-Limit"))
	}
	if resp := h.postForm("/settings/api-keys/"+id[1]+"/revoke", url.Values{}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: got %d", resp.StatusCode)
	}
	if code, _ := h.api(secret, http.MethodGet, "/api/v1/me", nil); code != http.StatusUnauthorized {
		t.Fatalf("revoked key: got %d, want 401", code)
	}
}

func TestAPIKeysAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.apiKey(store.ScopeAdmin)
	code, out := h.api(admin, http.MethodPost, "/api/v1/api-keys", map[string]any{"name": "Shop", "scopes": []string{"send"}, "limits": map[string]any{"send": 20}})
	data, _ := out["data"].(map[string]any)
	secret, _ := data["secret"].(string)
	if code != http.StatusCreated || !strings.HasPrefix(secret, "herald_") || fmt.Sprint(data["scopes"]) != "[send]" {
		t.Fatalf("create: got %d %v", code, out)
	}
	id := fmt.Sprint(data["id"])
	if code, out := h.api(admin, http.MethodGet, "/api/v1/api-keys/"+id, nil); code != http.StatusOK || out["data"].(map[string]any)["secret"] != nil {
		t.Fatalf("get: got %d %v, want no secret", code, out)
	}
	if code, out := h.api(secret, http.MethodGet, "/api/v1/api-keys", nil); code != http.StatusForbidden {
		t.Fatalf("a send key listing keys: got %d %v, want 403", code, out)
	}
	code, out = h.api(admin, http.MethodPatch, "/api/v1/api-keys/"+id, map[string]any{"limits": map[string]any{"read": 1, "write": 2, "send": 3}})
	if lim := out["data"].(map[string]any)["limits"]; code != http.StatusOK || fmt.Sprint(lim) != "map[read:1 send:3 write:2]" {
		t.Fatalf("patch: got %d %v", code, out)
	}
	code, out = h.api(admin, http.MethodGet, "/api/v1/api-keys", nil)
	if items, _ := out["data"].([]any); code != http.StatusOK || len(items) != 2 {
		t.Fatalf("list: got %d %v, want both keys", code, out)
	}
	if code, _ := h.api(admin, http.MethodDelete, "/api/v1/api-keys/"+id, nil); code != http.StatusNoContent {
		t.Fatalf("revoke: got %d", code)
	}
	if code, _ := h.api(secret, http.MethodGet, "/api/v1/me", nil); code != http.StatusUnauthorized {
		t.Fatalf("revoked: got %d, want 401", code)
	}
	for _, bad := range []map[string]any{{"name": "x", "scopes": []string{"root"}}, {"name": "", "scopes": []string{"read"}}, {"name": "x", "scopes": []string{"read"}, "limits": map[string]any{"read": -1}}} {
		if code, out := h.api(admin, http.MethodPost, "/api/v1/api-keys", bad); code != http.StatusUnprocessableEntity {
			t.Errorf("create %v: got %d %v, want 422", bad, code, out)
		}
	}
}
