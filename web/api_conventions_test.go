package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"herald/store"
)

// apiRoutes lists the API's routes from echo's route table.
func apiRoutes(h *harness) [][2]string {
	var out [][2]string
	for _, r := range h.srv.Routes() {
		if strings.HasPrefix(r.Path, "/api/") && !strings.HasPrefix(r.Method, "echo_") && !PublicRoutes[r.Method+" "+r.Path] {
			out = append(out, [2]string{r.Method, r.Path})
		}
	}
	return out
}

// wantScope is the scope policy, written apart from the routes: settings,
// relays, domains, keys, users, webhooks, jobs and queues are the admin's, and so are a
// source's credentials and their audit trail; sending a message is send's;
// who-am-I is any key's; reading is read's, and every other change
// write's.
func wantScope(method, path string) string {
	p := strings.TrimPrefix(path, "/api/v1")
	for _, prefix := range []string{"/settings", "/relays", "/dkim-keys", "/domains", "/api-keys", "/users", "/webhooks", "/jobs", "/queues"} {
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			return store.ScopeAdmin
		}
	}
	switch {
	case strings.HasPrefix(p, "/sources/") && (strings.HasSuffix(p, "/reveal") || strings.HasSuffix(p, "/audit")):
		return store.ScopeAdmin
	case p == "/me":
		return anyScope
	case method == http.MethodPost && p == "/messages":
		return store.ScopeSend
	case method == http.MethodGet:
		return store.ScopeRead
	}
	return store.ScopeWrite
}

// TestEveryAPIRouteDeclaresItsScope walks echo's route table: every API
// route declares the scope the policy gives it, refuses a key with any
// other scope with 403 insufficient_scope, and lets a key with its scope
// past.
func TestEveryAPIRouteDeclaresItsScope(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.apiKey(store.ScopeRead) // key 1, which DELETE /api/v1/api-keys/1 revokes
	keys := map[string]string{}
	for _, sc := range store.Scopes {
		keys[sc] = h.apiKey(sc)
	}
	routes := apiRoutes(h)
	if len(routes) < 80 {
		t.Fatalf("API routes in echo's table: got %d, want the whole API", len(routes))
	}
	declared := map[string]bool{}
	for _, r := range routes {
		name := r[0] + " " + r[1]
		declared[name] = true
		scope, ok := h.srv.scopes[name]
		if !ok {
			t.Errorf("%s declares no scope", name)
			continue
		}
		if want := wantScope(r[0], r[1]); scope != want {
			t.Errorf("%s: declared scope %q, want %q", name, scope, want)
		}
		for _, sc := range store.Scopes {
			resp, out := h.apiWith(keys[sc], r[0], concretePath(r[1]), nil, nil)
			code, _ := audError(out)
			refused := resp.StatusCode == http.StatusForbidden && code == "insufficient_scope"
			if should := scope != anyScope && sc != scope; refused != should {
				t.Errorf("%s with a %s key: got %d %s, want refused=%v", name, sc, resp.StatusCode, code, should)
			}
		}
	}
	for name := range h.srv.scopes {
		if !declared[name] {
			t.Errorf("scope declared for %s, which is not a route", name)
		}
	}
}

// TestEveryAPIRouteCountsAgainstItsClass walks the route table with a key
// whose three limits differ: each answer names the limit of the route's
// class.
func TestEveryAPIRouteCountsAgainstItsClass(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.apiKey(store.ScopeRead) // key 1, which DELETE /api/v1/api-keys/1 revokes
	_, key, err := h.st.CreateAPIKey(context.Background(), store.NewAPIKey{Name: "walk", Scopes: []string{store.ScopeFull},
		Limits: store.RateLimits{Read: 1001, Write: 1002, Send: 1003}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range apiRoutes(h) {
		want := "1002"
		switch {
		case r[0] == http.MethodPost && r[1] == "/api/v1/messages":
			want = "1003"
		case r[0] == http.MethodGet:
			want = "1001"
		}
		resp, _ := h.apiWith(key, r[0], concretePath(r[1]), nil, nil)
		if got := resp.Header.Get("X-RateLimit-Limit"); got != want || resp.Header.Get("X-RateLimit-Remaining") == "" || resp.Header.Get("X-RateLimit-Reset") == "" {
			t.Errorf("%s %s: X-RateLimit-Limit %q, want %s with Remaining and Reset", r[0], r[1], got, want)
		}
	}
}

func TestAPIRateLimits(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	now := time.Now()
	var mu sync.Mutex
	h.srv.limits.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	ctx := context.Background()
	_, a, _ := h.st.CreateAPIKey(ctx, store.NewAPIKey{Name: "a", Scopes: []string{store.ScopeFull}, Limits: store.RateLimits{Read: 2}})
	_, b, _ := h.st.CreateAPIKey(ctx, store.NewAPIKey{Name: "b", Scopes: []string{store.ScopeFull}})

	for i, left := range []string{"1", "0"} {
		resp, _ := h.apiWith(a, http.MethodGet, "/api/v1/me", nil, nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-RateLimit-Limit") != "2" || resp.Header.Get("X-RateLimit-Remaining") != left {
			t.Fatalf("read %d: got %d limit %q remaining %q, want 200, 2, %s", i+1, resp.StatusCode,
				resp.Header.Get("X-RateLimit-Limit"), resp.Header.Get("X-RateLimit-Remaining"), left)
		}
	}
	resp, out := h.apiWith(a, http.MethodGet, "/api/v1/me", nil, nil)
	if code, _ := audError(out); resp.StatusCode != http.StatusTooManyRequests || code != "rate_limited" || resp.Header.Get("Retry-After") != "1" ||
		resp.Header.Get("X-RateLimit-Reset") != "1" {
		t.Fatalf("third read: got %d %v, Retry-After %q, Reset %q; want 429 with Retry-After 1", resp.StatusCode, out,
			resp.Header.Get("Retry-After"), resp.Header.Get("X-RateLimit-Reset"))
	}
	// The write class and another key have buckets of their own.
	if resp, _ := h.apiWith(a, http.MethodPost, "/api/v1/lists", map[string]any{"name": "News"}, nil); resp.StatusCode != http.StatusCreated ||
		resp.Header.Get("X-RateLimit-Limit") != "50" {
		t.Fatalf("a write after the reads ran out: got %d, limit %q; want 201 under the install's 50", resp.StatusCode, resp.Header.Get("X-RateLimit-Limit"))
	}
	if resp, _ := h.apiWith(b, http.MethodGet, "/api/v1/me", nil, nil); resp.StatusCode != http.StatusOK || resp.Header.Get("X-RateLimit-Limit") != "100" {
		t.Fatalf("another key: got %d, limit %q; want 200 under the install's 100", resp.StatusCode, resp.Header.Get("X-RateLimit-Limit"))
	}
	advance(500 * time.Millisecond)
	if resp, _ := h.apiWith(a, http.MethodGet, "/api/v1/me", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("half a second on: got %d, want one more request", resp.StatusCode)
	}

	// The install's limits are changed in Settings, and apply to keys
	// without their own.
	code, out := h.api(b, http.MethodPatch, "/api/v1/settings", map[string]any{"api_limits": map[string]any{"read": 7, "write": 0, "send": 9}})
	if code != http.StatusOK {
		t.Fatalf("settings: got %d %v", code, out)
	}
	if resp, _ := h.apiWith(b, http.MethodGet, "/api/v1/me", nil, nil); resp.Header.Get("X-RateLimit-Limit") != "7" {
		t.Fatalf("after the change: limit %q, want 7", resp.Header.Get("X-RateLimit-Limit"))
	}
	code, out = h.api(b, http.MethodPatch, "/api/v1/settings", map[string]any{"api_limits": map[string]any{"read": -1}})
	if _, f := audError(out); code != http.StatusUnprocessableEntity || f["api_limits.read"] == nil {
		t.Fatalf("a negative limit: got %d %v, want 422 naming api_limits.read", code, out)
	}
}

// lockedBuffer is a log destination several goroutines write.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestRequestIDs(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	h := newHarness(t, func(c *harnessConfig) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	key := h.apiKey(store.ScopeRead)
	resp, out := h.apiWith(key, http.MethodGet, "/api/v1/contacts/999", nil, nil)
	id := resp.Header.Get("X-Request-Id")
	e, _ := out["error"].(map[string]any)
	if resp.StatusCode != http.StatusNotFound || !regexp.MustCompile(`^[A-Z2-7]{26}$`).MatchString(id) || e["request_id"] != id {
		t.Fatalf("404: got id %q and envelope %v, want a new id in both", id, out)
	}
	if !strings.Contains(logs.String(), "request_id="+id) {
		t.Errorf("log: want a line with request_id=%s, got\n%s", id, logs.String())
	}
	resp, _ = h.apiWith(key, http.MethodGet, "/api/v1/me", nil, map[string]string{"X-Request-Id": "shop-order-77.retry:2"})
	if got := resp.Header.Get("X-Request-Id"); got != "shop-order-77.retry:2" {
		t.Errorf("the caller's id: got %q, want it kept", got)
	}
	for _, bad := range []string{"a b", "<script>", strings.Repeat("x", 129)} {
		resp, _ = h.apiWith(key, http.MethodGet, "/api/v1/me", nil, map[string]string{"X-Request-Id": bad})
		if got := resp.Header.Get("X-Request-Id"); got == bad || len(got) != 26 {
			t.Errorf("id %q: got %q, want it replaced by a new one", bad, got)
		}
	}
	if got := h.get("/login").Header.Get("X-Request-Id"); got == "" {
		t.Errorf("a page: got no X-Request-Id")
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	post := func(idem string, payload any) (*http.Response, map[string]any) {
		return h.apiWith(key, http.MethodPost, "/api/v1/contacts", payload, map[string]string{"Idempotency-Key": idem})
	}
	first, out1 := post("order-1", map[string]any{"email": "ann@example.com"})
	if first.StatusCode != http.StatusCreated || first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: got %d %v", first.StatusCode, out1)
	}
	again, out2 := post("order-1", map[string]any{"email": "ann@example.com"})
	if again.StatusCode != http.StatusCreated || again.Header.Get("Idempotent-Replayed") != "true" ||
		again.Header.Get("Location") != first.Header.Get("Location") || fmt.Sprint(out2) != fmt.Sprint(out1) {
		t.Fatalf("replay: got %d %v (Location %q), want the first answer again", again.StatusCode, out2, again.Header.Get("Location"))
	}
	if again.Header.Get("X-Request-Id") == first.Header.Get("X-Request-Id") {
		t.Errorf("replay: want a request id of its own")
	}
	resp, out := post("order-1", map[string]any{"email": "bob@example.com"})
	if code, f := audError(out); resp.StatusCode != http.StatusUnprocessableEntity || code != "idempotency_mismatch" || f["Idempotency-Key"] == nil {
		t.Fatalf("same key, other body: got %d %v, want 422", resp.StatusCode, out)
	}
	if p, _ := h.st.Contacts(context.Background(), store.ContactFilter{}, 1, 10); p.Total != 1 {
		t.Fatalf("contacts: got %d, want 1: a replay does no work", p.Total)
	}

	// A refused request keeps nothing: the same key then serves the corrected one.
	if resp, _ := post("order-2", map[string]any{"email": "not an address"}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad email: got %d, want 422", resp.StatusCode)
	}
	if resp, out := post("order-2", map[string]any{"email": "cat@example.com"}); resp.StatusCode != http.StatusCreated {
		t.Fatalf("corrected: got %d %v, want 201", resp.StatusCode, out)
	}
	for _, bad := range []string{strings.Repeat("k", 256), "tab\there"} {
		if resp, out := post(bad, map[string]any{"email": "dan@example.com"}); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("key %.20q: got %d %v, want 400", bad, resp.StatusCode, out)
		}
	}

	// A large upload is hashed from a file on disk, and replays too.
	var csv strings.Builder
	csv.WriteString("email\n")
	for i := 0; csv.Len() < spoolAbove+1000; i++ {
		csv.WriteString("person" + strconv.Itoa(i) + "@example.com\n")
	}
	// Each retry is written with a boundary of its own, as a client does.
	upload := func() (*http.Response, map[string]any) {
		form, ctype := multipartBody(t, "people.csv", csv.String(), map[string]string{"mode": "upsert"})
		return h.apiWith(key, http.MethodPost, "/api/v1/imports", form.String(),
			map[string]string{"Idempotency-Key": "import-1", "Content-Type": ctype})
	}
	r1, o1 := upload()
	r2, o2 := upload()
	if r1.StatusCode != http.StatusAccepted || r2.StatusCode != r1.StatusCode || r2.Header.Get("Idempotent-Replayed") != "true" || fmt.Sprint(o1) != fmt.Sprint(o2) {
		t.Fatalf("large upload: got %d %v then %d %v, want the same answer twice", r1.StatusCode, o1, r2.StatusCode, o2)
	}
	other, ctype := multipartBody(t, "people.csv", "email\nsomeone@example.com\n", map[string]string{"mode": "upsert"})
	if r, o := h.apiWith(key, http.MethodPost, "/api/v1/imports", other.String(), map[string]string{"Idempotency-Key": "import-1", "Content-Type": ctype}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("another file with the same key: got %d %v, want 422", r.StatusCode, o)
	}
	if _, total, _ := h.st.ImportsPage(context.Background(), store.Newest, 10, 0); total != 1 {
		t.Fatalf("imports: got %d, want 1", total)
	}
}
