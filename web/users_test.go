package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"herald/store"
)

// TestUsersAPI adds, reads, changes and removes users through the API, and
// keeps the only owner.
func TestUsersAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.createOwner()
	key := h.apiKey(store.ScopeAdmin)
	code, out := h.api(key, http.MethodPost, "/api/v1/users", map[string]any{"email": "sam@example.com", "name": "Sam", "role": "admin", "password": "a long enough password"})
	if code != http.StatusCreated || audData(t, out)["role"] != "admin" || audData(t, out)["password"] != nil {
		t.Fatalf("create: got %d %v", code, out)
	}
	sam := audID(audData(t, out))
	if code, out := h.api(key, http.MethodPost, "/api/v1/users", map[string]any{"email": "SAM@example.com", "role": "admin", "password": "a long enough password"}); code != http.StatusConflict {
		t.Errorf("the same email again: got %d %v, want 409", code, out)
	}
	code, out = h.api(key, http.MethodPost, "/api/v1/users", map[string]any{"email": "nobody", "role": "root", "password": "short"})
	if _, f := audError(out); code != http.StatusUnprocessableEntity || f["email"] == nil || f["role"] == nil || f["password"] == nil {
		t.Errorf("bad user: got %d %v, want 422 naming email, role and password", code, out)
	}
	code, out = h.api(key, http.MethodGet, "/api/v1/users?sort=name", nil)
	if rows, _ := out["data"].([]any); code != http.StatusOK || len(rows) != 2 {
		t.Errorf("list: got %d %v", code, out)
	}
	owner, err := h.st.UserByEmail(context.Background(), ownerEmail)
	if err != nil {
		t.Fatal(err)
	}
	if code, out := h.api(key, http.MethodPatch, "/api/v1/users/"+itoa(owner.ID), map[string]any{"role": "admin"}); code != http.StatusConflict ||
		!strings.Contains(out["error"].(map[string]any)["message"].(string), "is the only one") {
		t.Errorf("demote the only owner: got %d %v, want 409", code, out)
	}
	if code, _ := h.api(key, http.MethodDelete, "/api/v1/users/"+itoa(owner.ID), nil); code != http.StatusConflict {
		t.Errorf("remove the only owner: got %d, want 409", code)
	}
	if code, out := h.api(key, http.MethodPatch, "/api/v1/users/"+itoa(sam), map[string]any{"role": "owner", "name": "Sam Lee"}); code != http.StatusOK ||
		audData(t, out)["role"] != "owner" || audData(t, out)["name"] != "Sam Lee" {
		t.Errorf("promote: got %d %v", code, out)
	}
	if code, _ := h.api(key, http.MethodDelete, "/api/v1/users/"+itoa(owner.ID), nil); code != http.StatusNoContent {
		t.Errorf("remove an owner while another remains: got %d, want 204", code)
	}
	if code, _ := h.api(key, http.MethodGet, "/api/v1/users/"+itoa(owner.ID), nil); code != http.StatusNotFound {
		t.Errorf("a removed user: got %d, want 404", code)
	}
	if code, _ := h.api(h.apiKey(store.ScopeWrite), http.MethodGet, "/api/v1/users", nil); code != http.StatusForbidden {
		t.Errorf("a write key: got %d, want 403", code)
	}
}

// TestUsersPage adds a user, changes their role and password, and removes
// them, from Settings → Users; the signed-in user cannot remove themselves.
func TestUsersPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	resp := h.postForm("/settings/users", url.Values{"email": {"sam@example.com"}, "name": {"Sam"}, "role": {"admin"}, "password": {"short"}}, nil)
	if page := body(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Use at least 10 characters") || !strings.Contains(page, `value="sam@example.com"`) {
		t.Fatalf("short password: got %d", resp.StatusCode)
	}
	resp = h.postForm("/settings/users", url.Values{"email": {"sam@example.com"}, "name": {"Sam\u202e"}, "role": {"admin"}, "password": {"a long enough password"}}, nil)
	if page := body(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "U+202E") {
		t.Fatalf("a hidden character in the name: got %d", resp.StatusCode)
	}
	resp = h.postForm("/settings/users", url.Values{"email": {"sam@example.com"}, "name": {"Sam"}, "role": {"admin"}, "password": {"a long enough password"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: got %d %s", resp.StatusCode, body(t, resp))
	}
	page := body(t, h.get("/settings/users"))
	if !strings.Contains(page, "sam@example.com can sign in now.") || !strings.Contains(page, "<td>Sam</td>") {
		t.Fatalf("the list lacks Sam")
	}
	sam, err := h.st.UserByEmail(context.Background(), "sam@example.com")
	if err != nil {
		t.Fatal(err)
	}
	me, _ := h.st.UserByEmail(context.Background(), ownerEmail)
	if regexp.MustCompile(`/settings/users/` + itoa(me.ID) + `/delete`).MatchString(page) {
		t.Errorf("the page offers to remove the signed-in user")
	}
	if resp := h.postForm("/settings/users/"+itoa(me.ID), url.Values{"role": {"admin"}}, nil); resp.StatusCode != http.StatusConflict ||
		!strings.Contains(body(t, resp), "Herald needs an owner") {
		t.Errorf("demote the only owner: got %d, want 409 saying why", resp.StatusCode)
	}
	if resp := h.postForm("/settings/users/"+itoa(sam.ID), url.Values{"role": {"owner"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("promote: got %d", resp.StatusCode)
	}
	if u, _ := h.st.User(context.Background(), sam.ID); u.Role != store.RoleOwner {
		t.Errorf("role: got %s, want owner", u.Role)
	}
	if resp := h.postForm("/settings/users/"+itoa(sam.ID)+"/password", url.Values{"password": {"another long password"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("set password: got %d", resp.StatusCode)
	}
	if u, _ := h.st.User(context.Background(), sam.ID); !store.CheckPassword(u.PasswordHash, "another long password") {
		t.Errorf("the new password does not sign Sam in")
	}
	// My own new password keeps me signed in here.
	if resp := h.postForm("/settings/users/"+itoa(me.ID)+"/password", url.Values{"password": {"my new long password"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("set my password: got %d", resp.StatusCode)
	}
	if page := body(t, h.get("/settings/users")); !strings.Contains(page, "Your password is set") {
		t.Errorf("after setting my own password: not signed in, or no word of it")
	}
	if resp := h.postForm("/settings/users/"+itoa(me.ID)+"/delete", nil, nil); resp.StatusCode != http.StatusConflict {
		t.Errorf("remove myself: got %d, want 409", resp.StatusCode)
	}
	if resp := h.postForm("/settings/users/"+itoa(sam.ID)+"/delete", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("remove Sam: got %d", resp.StatusCode)
	}
	if _, err := h.st.User(context.Background(), sam.ID); err != store.ErrNotFound {
		t.Errorf("Sam after removal: %v", err)
	}
}
