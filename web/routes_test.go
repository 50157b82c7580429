package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// concretePath turns a route pattern into a path that matches it.
func concretePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		switch {
		case strings.HasPrefix(s, ":"):
			parts[i] = "1"
		case s == "*":
			parts[i] = "anything"
		}
	}
	return strings.Join(parts, "/")
}

// TestEveryRouteRefusesAnonymous walks echo's route table: every route that is
// not on the public allow-list must refuse a visitor without a session or key,
// both before setup and after.
func TestEveryRouteRefusesAnonymous(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	routes := h.srv.Routes()
	registered := map[string]bool{}
	for _, r := range routes {
		registered[r.Method+" "+r.Path] = true
	}
	for pub := range PublicRoutes {
		if !registered[pub] {
			t.Errorf("public allow-list names %q, which is not a route", pub)
		}
	}
	for _, phase := range []string{"before setup", "after setup"} {
		if phase == "after setup" {
			h.createOwner()
		}
		checked := 0
		for _, r := range routes {
			if PublicRoutes[r.Method+" "+r.Path] {
				continue
			}
			method := r.Method
			if method == "echo_route_not_found" || method == "" || strings.HasPrefix(method, "echo_") {
				method = http.MethodGet
			}
			path := concretePath(r.Path)
			if path == "" {
				path = "/"
			}
			resp := h.request(h.newClient(), method, path, strings.NewReader("{}"), map[string]string{"Content-Type": "application/json"})
			checked++
			if strings.HasPrefix(r.Path, "/api") {
				var out struct {
					Error struct{ Code string } `json:"error"`
				}
				json.NewDecoder(resp.Body).Decode(&out)
				if resp.StatusCode != http.StatusUnauthorized || out.Error.Code != "unauthorized" {
					t.Errorf("%s: %s %s: got %d %q, want 401 unauthorized", phase, method, path, resp.StatusCode, out.Error.Code)
				}
				continue
			}
			loc := resp.Header.Get("Location")
			want := "/login"
			if phase == "before setup" {
				want = "/setup"
			}
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, want) {
				t.Errorf("%s: %s %s: got %d to %q, want 303 to %s", phase, method, path, resp.StatusCode, loc, want)
			}
		}
		if checked < 20 {
			t.Fatalf("%s: only %d routes checked; the route table walk is broken", phase, checked)
		}
	}
}

func TestUnknownPathsAnonymous(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.createOwner()
	if resp := h.get("/no/such/page"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("unknown admin path: got %d, want 303 to sign in", resp.StatusCode)
	}
	code, out := h.api("", http.MethodGet, "/api/v2/whatever", nil)
	if code != http.StatusUnauthorized || out["error"] == nil {
		t.Errorf("unknown API path: got %d %v, want 401 JSON", code, out)
	}
}
