package web

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"herald/store"
)

func TestCustomEventsAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeWrite)
	ann := audSeedContact(t, h, "ann@example.com", nil, nil)

	code, out := h.api(key, http.MethodPost, "/api/v1/events", map[string]any{"email": "ann@example.com", "name": "order_placed",
		"properties": map[string]any{"total": 42.5, "plan": "pro"}, "idempotency_key": "order-1001", "occurred_at": "2026-01-02T10:00:00Z"})
	d := audData(t, out)
	if code != http.StatusCreated || d["recorded"] != 1.0 {
		t.Fatalf("one event: got %d %v", code, out)
	}
	first := d["events"].([]any)[0].(map[string]any)
	if first["contact_id"] != float64(ann) || first["occurred_at"] != "2026-01-02T10:00:00Z" {
		t.Fatalf("the event: got %v", first)
	}
	// The same key again: the first event, not a second.
	code, out = h.api(key, http.MethodPost, "/api/v1/events", map[string]any{"email": "ann@example.com", "name": "order_placed", "idempotency_key": "order-1001"})
	if d := audData(t, out); code != http.StatusOK || d["duplicates"] != 1.0 || d["events"].([]any)[0].(map[string]any)["id"] != first["id"] {
		t.Fatalf("a retried event: got %d %v", code, out)
	}

	var batch []map[string]any
	for i := range 30 {
		batch = append(batch, map[string]any{"email": fmt.Sprintf("p%02d@example.com", i), "create_contact": true, "name": "signup"})
	}
	batch = append(batch, map[string]any{"contact_id": ann, "name": "login"})
	if code, out := h.api(key, http.MethodPost, "/api/v1/events", map[string]any{"events": batch}); code != http.StatusCreated || audData(t, out)["recorded"] != 31.0 {
		t.Fatalf("a batch: got %d %v", code, out)
	}
	// One bad event refuses the batch, naming it; nothing of it is kept.
	bad := []map[string]any{{"email": "ann@example.com", "name": "ok"}, {"email": "ghost@example.com", "name": "login"}}
	code, out = h.api(key, http.MethodPost, "/api/v1/events", map[string]any{"events": bad})
	if _, f := audError(out); code != http.StatusUnprocessableEntity || !strings.Contains(fmt.Sprint(f["events[1].email"]), "create_contact") {
		t.Fatalf("a batch with an unknown contact: got %d %v", code, out)
	}
	for _, body := range []any{`{"name": "x", "email": "ann@example.com", "events": []}`, `{"events": [{"name": "x", "colour": "red"}]}`, `[]`} {
		if code, out := h.api(key, http.MethodPost, "/api/v1/events", body); code != http.StatusBadRequest && code != http.StatusUnprocessableEntity {
			t.Errorf("%v: got %d %v, want 400 or 422", body, code, out)
		}
	}

	read := h.apiKey(store.ScopeRead)
	ids := cursorWalk(t, h, read, "/api/v1/events?per_page=7")
	if len(ids) != 32 {
		t.Fatalf("events by cursor: got %d, want 32", len(ids))
	}
	code, out = h.api(read, http.MethodGet, fmt.Sprintf("/api/v1/events?contact_id=%d&name=order_placed", ann), nil)
	if items := out["data"].([]any); code != http.StatusOK || len(items) != 1 {
		t.Fatalf("ann's orders: got %d %v", code, out)
	}
	code, out = h.api(read, http.MethodGet, fmt.Sprintf("/api/v1/contacts/%d/events", ann), nil)
	if code != http.StatusOK || !strings.Contains(fmt.Sprint(out["data"]), "Event order_placed") {
		t.Fatalf("timeline: got %d %v", code, out)
	}
	// Segments on events.
	code, out = h.api(key, http.MethodPost, "/api/v1/segments/count", map[string]any{"rules": map[string]any{"match": "all", "conditions": []any{
		map[string]any{"field": "event", "event": "signup", "op": "at_least", "value": 1}}}})
	if code != http.StatusOK || audData(t, out)["count"] != 30.0 {
		t.Fatalf("count who signed up: got %d %v", code, out)
	}
	code, out = h.api(key, http.MethodPost, "/api/v1/segments/count", map[string]any{"rules": map[string]any{"match": "all", "conditions": []any{
		map[string]any{"field": "event", "event": "login", "op": "not_since", "value": 30}}}})
	if code != http.StatusOK || audData(t, out)["count"] != 30.0 {
		t.Fatalf("count who have not logged in: got %d %v", code, out)
	}
}

// TestSegmentEditorEvents builds "did order_placed with plan = pro at
// least 2 times in the last 30 days" in the segment editor, counts it,
// saves it and finds it again as built.
func TestSegmentEditorEvents(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	var batch []store.EventInput
	for _, e := range []struct{ who, plan string }{{"ann", "pro"}, {"ann", "pro"}, {"bob", "pro"}, {"cat", "free"}, {"cat", "free"}} {
		batch = append(batch, store.EventInput{Email: e.who + "@example.com", CreateContact: true, Name: "order_placed", Properties: map[string]any{"plan": e.plan}})
	}
	if _, err := h.st.RecordEvents(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	form := audSegmentForm("Loyal pros", [4]string{"event", "at_least", "2", ""})
	form.Set("event.0", "order_placed")
	form.Set("where_key.0", "plan")
	form.Set("where_value.0", "pro")
	form.Set("days.0", "30")
	frag := body(t, h.postForm("/segments/editor", form, map[string]string{"HX-Request": "true"}))
	for _, want := range []string{`name="event.0" value="order_placed"`, `name="days.0" value="30"`,
		"Contacts who did order_placed (plan = pro) at least 2 times in the last 30 days."} {
		if !strings.Contains(frag, want) {
			t.Errorf("editor: got %.3000s, want %q", frag, want)
		}
	}
	if frag := body(t, h.postForm("/segments/count", form, map[string]string{"HX-Request": "true"})); !strings.Contains(frag, `<strong class="count-live">1</strong>`) {
		t.Errorf("count: got %q, want 1 (ann)", frag)
	}
	bad := audSegmentForm("x", [4]string{"event", "at_least", "2", ""})
	if frag := body(t, h.postForm("/segments/count", bad, map[string]string{"HX-Request": "true"})); !strings.Contains(frag, "name the event") {
		t.Errorf("count without an event name: got %q", frag)
	}
	id := audIDFrom(t, h.postForm("/segments", form, nil))
	g, err := h.st.Segment(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"match":"all","conditions":[{"field":"event","op":"at_least","value":2,"event":"order_placed","where":{"plan":"pro"},"days":30}]}`
	if got, _ := json.Marshal(g.Rules); string(got) != want {
		t.Errorf("saved rules: got %s, want %s", got, want)
	}
	if page := body(t, h.get("/segments/"+itoa(id))); !strings.Contains(page, `name="where_value.0" value="pro"`) {
		t.Errorf("the saved segment's page does not show its property")
	}
}

// TestEventReviewCases: what a review found, kept fixed.
func TestEventReviewCases(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	key := h.apiKey(store.ScopeFull)
	ann := audSeedContact(t, h, "ann@example.com", nil, nil)

	// A value that is not a number, typed in the editor, stays text, and
	// the segment pages keep working.
	form := audSegmentForm("Odd", [4]string{"event", "at_least", "1", ""})
	form.Set("event.0", "order_placed")
	form.Set("where_key.0", "plan")
	form.Set("where_value.0", "NaN")
	audIDFrom(t, h.postForm("/segments", form, nil))
	if resp := h.get("/segments"); resp.StatusCode != http.StatusOK {
		t.Fatalf("segments page after a NaN: got %d", resp.StatusCode)
	}
	// Days typed as text in the editor count as days.
	form = audSegmentForm("Lapsed", [4]string{"event", "not_since", "30", ""})
	form.Set("event.0", "login")
	if frag := body(t, h.postForm("/segments/count", form, map[string]string{"HX-Request": "true"})); !strings.Contains(frag, `<strong class="count-live">1</strong>`) {
		t.Errorf("not_since 30 from the editor: got %q", frag)
	}
	// A rule made through the API with two properties keeps both when
	// saved again from the editor.
	code, out := h.api(key, http.MethodPost, "/api/v1/segments", map[string]any{"name": "Two", "rules": map[string]any{"match": "all", "conditions": []any{
		map[string]any{"field": "event", "event": "order_placed", "op": "at_least", "value": 1, "where": map[string]any{"plan": "pro", "vip": true}}}}})
	two := audID(audData(t, out))
	if code != http.StatusCreated {
		t.Fatalf("segment: got %d %v", code, out)
	}
	page := body(t, h.get("/segments/"+itoa(two)))
	rest := regexp.MustCompile(`name="where_rest.0" value="([^"]*)"`).FindStringSubmatch(page)
	if rest == nil {
		t.Fatalf("the editor does not keep the second property")
	}
	form = audSegmentForm("Two", [4]string{"event", "at_least", "1", ""})
	form.Set("event.0", "order_placed")
	form.Set("where_key.0", "plan")
	form.Set("where_value.0", "pro")
	form.Set("where_rest.0", html.UnescapeString(rest[1]))
	form.Set("id", itoa(two))
	if resp := h.postForm("/segments/"+itoa(two), form, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: got %d", resp.StatusCode)
	}
	g, _ := h.st.Segment(t.Context(), two)
	if w := g.Rules.Conditions[0].Where; len(w) != 2 || w["vip"] != true || w["plan"] != "pro" {
		t.Errorf("where after a save from the editor: got %v", w)
	}

	// Properties count as stored, unescaped; a time before 2000 is refused;
	// a single event beside a list is refused.
	code, out = h.api(key, http.MethodPost, "/api/v1/events", map[string]any{"email": "ann@example.com", "name": "x", "properties": map[string]any{"s": strings.Repeat("<", 1500)}})
	if code != http.StatusCreated {
		t.Errorf("1,500 < in properties: got %d %v", code, out)
	}
	if code, out := h.api(key, http.MethodPost, "/api/v1/events", map[string]any{"email": "ann@example.com", "name": "x", "occurred_at": "1000-01-01T00:00:00Z"}); code != http.StatusUnprocessableEntity {
		t.Errorf("an event in the year 1000: got %d %v", code, out)
	}
	if code, out := h.api(key, http.MethodPost, "/api/v1/events", map[string]any{"email": "ann@example.com", "events": []any{map[string]any{"email": "ann@example.com", "name": "x"}}}); code != http.StatusBadRequest {
		t.Errorf("an email beside a list: got %d %v", code, out)
	}
	// Erasing a contact erases what was reported of them.
	if code, _ := h.api(key, http.MethodPost, "/api/v1/contacts/"+itoa(ann)+"/erase", nil); code != http.StatusOK {
		t.Fatalf("erase: got %d", code)
	}
	if _, total, _ := h.st.CustomEvents(t.Context(), store.EventFilter{ContactID: ann}, 10, 0); total != 0 {
		t.Errorf("events after an erasure: got %d, want none", total)
	}
	// Tags by the thousand get one short refusal.
	tags := make([]string, 10000)
	resp, _ := h.apiWith(key, http.MethodPost, "/api/v1/messages", map[string]any{"to": "a@example.com", "subject": "x", "text": "x", "tags": tags}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || resp.ContentLength > 4096 {
		t.Errorf("10,000 empty tags: got %d, %d bytes", resp.StatusCode, resp.ContentLength)
	}
}
