package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v5"

	"herald/store"
)

// TestOpenAPIMatchesTheRouteTable checks the served description against
// echo's route table both ways: every API route has its operation, with
// the scope the route declares, and every operation is a route.
func TestOpenAPIMatchesTheRouteTable(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	resp := h.request(http.DefaultClient, http.MethodGet, "/api/v1/openapi.json", nil, map[string]string{"Sec-Fetch-Site": ""})
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("openapi.json without a key: got %d (%v), want 200 and JSON", resp.StatusCode, err)
	}
	if doc["openapi"] != "3.1.0" || doc["servers"].([]any)[0].(map[string]any)["url"] != h.ts.URL {
		t.Fatalf("version and server: got %v and %v", doc["openapi"], doc["servers"])
	}
	paths := doc["paths"].(map[string]any)
	routes := map[string]bool{}
	for _, r := range h.srv.Routes() {
		if !strings.HasPrefix(r.Path, "/api/") || strings.HasPrefix(r.Method, "echo_") {
			continue
		}
		routes[strings.ToLower(r.Method)+" "+openAPIPath(r.Path)] = true
		item, _ := paths[openAPIPath(r.Path)].(map[string]any)
		op, ok := item[strings.ToLower(r.Method)].(map[string]any)
		if !ok {
			t.Errorf("%s %s: no operation in the description", r.Method, r.Path)
			continue
		}
		if op["summary"] == "" || op["operationId"] == "" || len(op["responses"].(map[string]any)) < 5 {
			t.Errorf("%s %s: got %v, want a summary, an id and its answers and errors", r.Method, r.Path, op)
		}
		if scope := h.srv.scopes[r.Method+" "+r.Path]; !PublicRoutes[r.Method+" "+r.Path] && op["x-scope"] != scope {
			t.Errorf("%s %s: x-scope %v, want the route's %q", r.Method, r.Path, op["x-scope"], scope)
		}
		if r.Method == http.MethodPost && !strings.Contains(mustJSON(t, op["parameters"]), "IdempotencyKey") {
			t.Errorf("%s %s: no Idempotency-Key parameter", r.Method, r.Path)
		}
		for _, p := range pathParams(r.Path) {
			if !strings.Contains(mustJSON(t, op["parameters"]), `"name":"`+p+`"`) {
				t.Errorf("%s %s: path parameter %s not described", r.Method, r.Path, p)
			}
		}
	}
	for p, item := range paths {
		for method := range item.(map[string]any) {
			if !routes[method+" "+p] {
				t.Errorf("the description has %s %s, which is not a route", method, p)
			}
		}
	}
	if len(routes) < 90 {
		t.Errorf("API routes: got %d, want the whole API", len(routes))
	}
	// Every reference resolves.
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				parts := strings.Split(strings.TrimPrefix(ref, "#/"), "/")
				var at any = doc
				for _, part := range parts {
					at = at.(map[string]any)[part]
				}
				if at == nil {
					t.Errorf("$ref %s resolves to nothing", ref)
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(doc)
}

// TestOpenAPIRefusesAnUndocumentedRoute: a route added without an entry
// in apiOps stops the description from being built, naming the route.
func TestOpenAPIRefusesAnUndocumentedRoute(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.srv.echo.GET("/api/v1/undocumented", func(c *echo.Context) error { return nil })
	if _, err := h.srv.openAPI(); err == nil || !strings.Contains(err.Error(), "GET /api/v1/undocumented") {
		t.Fatalf("openAPI with an undocumented route: got %v, want an error naming it", err)
	}
}

// mustOpenAPI is the description the server serves at base.
func (s *Server) mustOpenAPI(t *testing.T, base string) map[string]any {
	t.Helper()
	doc, err := s.openAPIDoc(base)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mustWork are the operations whose written examples must succeed as they
// stand, run in the reference's order, each resource made before it is
// changed.
var mustWork = map[string]bool{
	"POST /api/v1/contacts": true, "PATCH /api/v1/contacts/{id}": true, "POST /api/v1/contacts/bulk": true,
	"POST /api/v1/lists": true, "PATCH /api/v1/lists/{id}": true, "POST /api/v1/segments": true, "PATCH /api/v1/segments/{id}": true,
	"POST /api/v1/segments/count": true, "POST /api/v1/templates": true, "PATCH /api/v1/templates/{id}": true,
	"POST /api/v1/campaigns": true, "PATCH /api/v1/campaigns/{id}": true, "POST /api/v1/suppressions": true, "POST /api/v1/events": true,
	"POST /api/v1/api-keys": true, "PATCH /api/v1/api-keys/{id}": true, "POST /api/v1/webhooks": true, "PATCH /api/v1/webhooks/{id}": true,
	"POST /api/v1/dkim-keys": true, "PATCH /api/v1/dkim-keys/{id}": true, "PATCH /api/v1/settings": true,
	"PUT /api/v1/settings/emails": true, "PUT /api/v1/settings/feedback": true, "POST /api/v1/relays": true, "PATCH /api/v1/relays/{id}": true,
}

// TestAPIReferenceExamplesAreRead sends each operation's example body, the
// written ones and those made from the schema, to its route: each is read
// (no 400: every field is known and of its type), and the written ones of
// mustWork succeed.
func TestAPIReferenceExamplesAreRead(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	if _, err := h.st.CreateList(context.Background(), store.ListInput{Name: ptrTo("Seed")}); err != nil {
		t.Fatal(err)
	}
	p := apiRefOf(h.srv.mustOpenAPI(t, h.ts.URL), h.ts.URL)
	sent := 0
	for _, g := range p.Groups {
		for _, op := range g.Ops {
			_, data, ok := strings.Cut(op.Curl, "-d '")
			if !ok {
				continue
			}
			name := op.Method + " " + op.Path
			if name == "POST /api/v1/relays/{id}/test" {
				continue // it would reach for the example's mail server
			}
			body := strings.ReplaceAll(strings.TrimSuffix(data, "'"), `'\''`, "'")
			resp, out := h.apiWith(key, op.Method, examplePath(op.Path), body, nil)
			if resp.StatusCode == http.StatusBadRequest {
				t.Errorf("%s: the example is refused: %v\n%s", name, out, body)
			}
			if mustWork[name] && resp.StatusCode >= 300 {
				t.Errorf("%s: the written example does not work: %d %v\n%s", name, resp.StatusCode, out, body)
			}
			sent++
		}
	}
	if sent < 25 {
		t.Errorf("examples sent: got %d, want one for every operation with a body", sent)
	}
}
