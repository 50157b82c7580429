package web

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"herald/store"
)

func TestAPIListsCRUD(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)

	code, out := h.api(key, http.MethodPost, "/api/v1/lists", map[string]any{"name": " Newsletter ", "description": "Monthly"})
	if code != http.StatusCreated {
		t.Fatalf("create: got %d %v, want 201", code, out)
	}
	l := audData(t, out)
	id := audID(l)
	path := "/api/v1/lists/" + itoa(id)
	want := map[string]any{"name": "Newsletter", "description": "Monthly", "opt_in": "single", "visibility": "private",
		"form_fields": []any{}, "counts": map[string]any{"confirmed": 0.0, "unconfirmed": 0.0, "unsubscribed": 0.0}}
	for k, v := range want {
		if !reflect.DeepEqual(l[k], v) {
			t.Errorf("created list %s: got %v, want %v", k, l[k], v)
		}
	}

	for i, st := range []string{"confirmed", "confirmed", "unconfirmed", "unsubscribed"} {
		code, out := h.api(key, http.MethodPost, "/api/v1/contacts", map[string]any{"email": "m" + itoa(int64(i)) + "@example.com", "lists": []int64{id}, "list_status": st})
		if code != http.StatusCreated {
			t.Fatalf("member %d: got %d %v", i, code, out)
		}
	}
	code, out = h.api(key, http.MethodGet, path, nil)
	if got, want := audData(t, out)["counts"], map[string]any{"confirmed": 2.0, "unconfirmed": 1.0, "unsubscribed": 1.0}; code != http.StatusOK || !reflect.DeepEqual(got, want) {
		t.Errorf("counts: got %d %v, want %v", code, got, want)
	}

	code, out = h.api(key, http.MethodPost, "/api/v1/lists", map[string]any{"name": "NEWSLETTER"})
	if ec, _ := audError(out); code != http.StatusConflict || ec != "conflict" {
		t.Errorf("duplicate name: got %d %v, want 409", code, out)
	}
	h.api(key, http.MethodPost, "/api/v1/lists", map[string]any{"name": "Alerts", "opt_in": "double", "visibility": "public"})
	code, out = h.api(key, http.MethodGet, "/api/v1/lists?per_page=1", nil)
	items, _ := out["data"].([]any)
	if code != http.StatusOK || len(items) != 1 || items[0].(map[string]any)["name"] != "Alerts" || out["meta"].(map[string]any)["total"] != 2.0 {
		t.Errorf("list of lists: got %d %v, want Alerts first of 2", code, out)
	}

	invalid := []struct {
		name  string
		body  any
		field string
	}{
		{"bad opt_in", map[string]any{"opt_in": "triple"}, "opt_in"},
		{"bad visibility", map[string]any{"visibility": "secret"}, "visibility"},
		{"empty name", map[string]any{"name": "  "}, "name"},
		{"bad form field key", map[string]any{"form_fields": []map[string]any{{"key": "Company Name", "label": "Company"}}}, "form_fields"},
	}
	for _, tc := range invalid {
		code, out := h.api(key, http.MethodPatch, path, tc.body)
		if ec, fields := audError(out); code != http.StatusUnprocessableEntity || ec != "validation_failed" || fields[tc.field] == nil {
			t.Errorf("%s: got %d %v, want 422 naming %q", tc.name, code, out, tc.field)
		}
	}
	code, out = h.api(key, http.MethodPost, "/api/v1/lists", map[string]any{"name": "Other", "opt_in": "maybe"})
	if _, fields := audError(out); code != http.StatusUnprocessableEntity || fields["opt_in"] == nil {
		t.Errorf("create with a bad opt_in: got %d %v, want 422", code, out)
	}

	code, out = h.api(key, http.MethodPatch, path, map[string]any{"opt_in": "double", "visibility": "public",
		"form_fields": []map[string]any{{"key": "company", "label": "Company", "required": true}}})
	l = audData(t, out)
	if code != http.StatusOK || l["opt_in"] != "double" || l["visibility"] != "public" || l["name"] != "Newsletter" ||
		!reflect.DeepEqual(l["form_fields"], []any{map[string]any{"key": "company", "label": "Company", "required": true}}) {
		t.Errorf("patch: got %d %v", code, out)
	}

	if code, _ := h.api(key, http.MethodDelete, path, nil); code != http.StatusNoContent {
		t.Fatalf("delete: got %d, want 204", code)
	}
	for _, m := range []string{http.MethodGet, http.MethodPatch, http.MethodDelete} {
		if code, _ := h.api(key, m, path, map[string]any{"name": "x"}); code != http.StatusNotFound {
			t.Errorf("%s after delete: got %d, want 404", m, code)
		}
	}
	if n, _ := h.st.CountContacts(context.Background(), store.ContactFilter{}); n != 4 {
		t.Errorf("contacts after deleting their list: got %d, want 4", n)
	}
}

func TestAPISegments(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	news := audSeedList(t, h, "Newsletter", store.OptInSingle)
	audSeedContact(t, h, "ann@example.com", []string{"vip"}, map[string]any{"seats": 10}, news)
	audSeedContact(t, h, "bob@example.com", []string{"vip"}, map[string]any{"seats": 2})
	audSeedContact(t, h, "carl@example.com", nil, map[string]any{"seats": 50}, news)

	rules := `{"match":"all","conditions":[{"field":"tag","op":"eq","value":"vip"},
		{"match":"any","conditions":[{"field":"list","op":"eq","value":` + itoa(news) + `},{"field":"attributes.seats","op":"lt","value":5}]}]}`
	code, out := h.api(key, http.MethodPost, "/api/v1/segments", `{"name":"Engaged VIPs","rules":`+rules+`}`)
	if code != http.StatusCreated {
		t.Fatalf("create: got %d %v, want 201", code, out)
	}
	seg := audData(t, out)
	id := audID(seg)
	var wantRules any
	json.Unmarshal([]byte(rules), &wantRules)
	if !reflect.DeepEqual(seg["rules"], wantRules) {
		t.Errorf("rules: got %v, want %v", seg["rules"], wantRules)
	}

	code, out = h.api(key, http.MethodGet, "/api/v1/segments/"+itoa(id)+"/count", nil)
	if want := map[string]any{"data": map[string]any{"count": 2.0}}; code != http.StatusOK || !reflect.DeepEqual(out, want) {
		t.Errorf("count: got %d %v, want %v", code, out, want)
	}
	_, out = h.api(key, http.MethodGet, "/api/v1/contacts?segment_id="+itoa(id), nil)
	if got := audEmails(out); !reflect.DeepEqual(got, []string{"bob@example.com", "ann@example.com"}) {
		t.Errorf("the segment's contacts: got %v, want bob and ann", got)
	}

	previews := []struct {
		rules string
		want  float64
	}{
		{`{"match":"all","conditions":[]}`, 3},
		{`{"match":"any","conditions":[]}`, 0},
		{`{"match":"all","conditions":[{"field":"attributes.seats","op":"gt","value":5}]}`, 2},
		{`{"match":"all","conditions":[{"field":"list","op":"neq","value":` + itoa(news) + `}]}`, 1},
		{`{"match":"all","conditions":[{"field":"email","op":"starts_with","value":"c"}]}`, 1},
	}
	for _, p := range previews {
		code, out := h.api(key, http.MethodPost, "/api/v1/segments/count", `{"rules":`+p.rules+`}`)
		if code != http.StatusOK || audData(t, out)["count"] != p.want {
			t.Errorf("preview %s: got %d %v, want %v", p.rules, code, out, p.want)
		}
	}

	invalid := []struct {
		name   string
		rules  string
		status int
		field  string
		says   string
	}{
		{"unknown field", `{"match":"all","conditions":[{"field":"shoe_size","op":"eq","value":"9"}]}`, 422, "rules.conditions[0].field", "shoe_size"},
		{"bad op in a nested group", `{"match":"all","conditions":[{"field":"tag","op":"eq","value":"x"},{"match":"any","conditions":[{"field":"email","op":"gt","value":"x"}]}]}`,
			422, "rules.conditions[1].conditions[0].op", "email"},
		{"bad match", `{"match":"most","conditions":[]}`, 422, "rules.match", "most"},
		{"top level not a group", `{"field":"tag","op":"eq","value":"vip"}`, 422, "rules", "group"},
		{"misspelt key in a rule", `{"match":"all","conditions":[{"feild":"tag","op":"eq","value":"vip"}]}`, 422, "rules", "feild"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			for path, payload := range map[string]string{
				"/api/v1/segments":       `{"name":"Bad","rules":` + tc.rules + `}`,
				"/api/v1/segments/count": `{"rules":` + tc.rules + `}`,
			} {
				code, out := h.api(key, http.MethodPost, path, payload)
				_, fields := audError(out)
				msg, _ := fields[tc.field].(string)
				if code != tc.status || !strings.Contains(msg, tc.says) {
					t.Errorf("%s: got %d %v, want %d with %q mentioning %q", path, code, out, tc.status, tc.field, tc.says)
				}
			}
		})
	}
	code, out = h.api(key, http.MethodPost, "/api/v1/segments", `{"name":"Bad","rulez":{}}`)
	if _, fields := audError(out); code != http.StatusBadRequest || fields["rulez"] == nil {
		t.Errorf("misspelt top-level key: got %d %v, want 400 naming rulez", code, out)
	}
	code, out = h.api(key, http.MethodPost, "/api/v1/segments", `{"name":"engaged vips"}`)
	if ec, _ := audError(out); code != http.StatusConflict || ec != "conflict" {
		t.Errorf("duplicate name: got %d %v, want 409", code, out)
	}

	path := "/api/v1/segments/" + itoa(id)
	code, out = h.api(key, http.MethodPatch, path, `{"rules":{"match":"all","conditions":[{"field":"tag","op":"eq","value":"vip"}]}}`)
	if code != http.StatusOK || audData(t, out)["name"] != "Engaged VIPs" {
		t.Fatalf("patch: got %d %v", code, out)
	}
	if _, out := h.api(key, http.MethodGet, path+"/count", nil); audData(t, out)["count"] != 2.0 {
		t.Errorf("count after patch: got %v, want 2", out)
	}
	code, out = h.api(key, http.MethodGet, "/api/v1/segments", nil)
	if items, _ := out["data"].([]any); code != http.StatusOK || len(items) != 1 {
		t.Errorf("segment list: got %d %v, want one segment", code, out)
	}
	if code, _ := h.api(key, http.MethodDelete, path, nil); code != http.StatusNoContent {
		t.Fatalf("delete: got %d, want 204", code)
	}
	for _, p := range []string{path, path + "/count"} {
		if code, _ := h.api(key, http.MethodGet, p, nil); code != http.StatusNotFound {
			t.Errorf("GET %s after delete: got %d, want 404", p, code)
		}
	}
}

func TestAPISuppressions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	ctx := context.Background()

	code, out := h.api(key, http.MethodPost, "/api/v1/suppressions", map[string]any{"value": " Spam@Example.org ", "reason": "asked us"})
	sp := audData(t, out)
	if code != http.StatusCreated || sp["kind"] != "email" || sp["value"] != "spam@example.org" || sp["reason"] != "asked us" || sp["source"] != "api" {
		t.Fatalf("add an address: got %d %v", code, out)
	}
	emailID := audID(sp)
	code, out = h.api(key, http.MethodPost, "/api/v1/suppressions", map[string]any{"value": "@Example.com"})
	sp = audData(t, out)
	if code != http.StatusCreated || sp["kind"] != "domain" || sp["value"] != "example.com" {
		t.Fatalf("add a domain: got %d %v, want kind domain, value example.com", code, out)
	}
	code, out = h.api(key, http.MethodPost, "/api/v1/suppressions", map[string]any{"value": "spam@example.org", "reason": "again"})
	if sp := audData(t, out); code != http.StatusOK || audID(sp) != emailID || sp["reason"] != "asked us" {
		t.Errorf("adding an address twice: got %d %v, want 200 with the first entry back", code, out)
	}
	for email, want := range map[string]bool{"anyone@example.com": true, "SPAM@example.org": true, "other@example.org": false} {
		if _, got, _ := h.st.Suppressed(ctx, email); got != want {
			t.Errorf("suppressed %s: got %v, want %v", email, got, want)
		}
	}

	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{"example.com", "spam@example.org"}},
		{"?q=SPAM", []string{"spam@example.org"}},
		{"?q=example.c", []string{"example.com"}},
		{"?q=nothing", []string{}},
	}
	for _, tc := range cases {
		code, out := h.api(key, http.MethodGet, "/api/v1/suppressions"+tc.query, nil)
		got := []string{}
		for _, it := range out["data"].([]any) {
			got = append(got, it.(map[string]any)["value"].(string))
		}
		if code != http.StatusOK || !reflect.DeepEqual(got, tc.want) || out["meta"].(map[string]any)["total"] != float64(len(tc.want)) {
			t.Errorf("list %q: got %d %v, want %v", tc.query, code, out, tc.want)
		}
	}

	garbage := []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"value": "not an address"}, "value"},
		{map[string]any{"value": ""}, "value"},
		{map[string]any{"value": "a@b"}, "value"},
		{map[string]any{"kind": "phone", "value": "123"}, "kind"},
		{map[string]any{"kind": "domain", "value": "bad_domain!"}, "value"},
	}
	for _, tc := range garbage {
		code, out := h.api(key, http.MethodPost, "/api/v1/suppressions", tc.body)
		if _, fields := audError(out); code != http.StatusUnprocessableEntity || fields[tc.field] == nil {
			t.Errorf("%v: got %d %v, want 422 naming %q", tc.body, code, out, tc.field)
		}
	}

	if code, _ := h.api(key, http.MethodDelete, "/api/v1/suppressions/"+itoa(emailID), nil); code != http.StatusNoContent {
		t.Fatalf("delete: got %d, want 204", code)
	}
	if code, _ := h.api(key, http.MethodDelete, "/api/v1/suppressions/"+itoa(emailID), nil); code != http.StatusNotFound {
		t.Errorf("delete again: got %d, want 404", code)
	}
	if _, got, _ := h.st.Suppressed(ctx, "spam@example.org"); got {
		t.Error("the address is still suppressed after its entry was deleted")
	}
}
