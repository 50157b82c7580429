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

// audData returns the "data" object of an API answer, failing if there is none.
func audData(t testing.TB, out map[string]any) map[string]any {
	t.Helper()
	d, ok := out["data"].(map[string]any)
	if !ok {
		t.Fatalf("answer has no data object: %v", out)
	}
	return d
}

// audError returns the code and fields of an API error answer.
func audError(out map[string]any) (code string, fields map[string]any) {
	e, _ := out["error"].(map[string]any)
	code, _ = e["code"].(string)
	fields, _ = e["fields"].(map[string]any)
	return code, fields
}

func audID(m map[string]any) int64 {
	f, _ := m["id"].(float64)
	return int64(f)
}

// audEmails lists the emails of the contacts in an API list answer, in order.
func audEmails(out map[string]any) []string {
	emails := []string{}
	items, _ := out["data"].([]any)
	for _, it := range items {
		emails = append(emails, it.(map[string]any)["email"].(string))
	}
	return emails
}

func audPtr[T any](v T) *T { return &v }

// audSeedList creates a list directly in the store.
func audSeedList(t testing.TB, h *harness, name, optIn string) int64 {
	t.Helper()
	l, err := h.st.CreateList(context.Background(), store.ListInput{Name: &name, OptIn: &optIn})
	if err != nil {
		t.Fatal(err)
	}
	return l.ID
}

// audSeedContact creates a contact directly in the store.
func audSeedContact(t testing.TB, h *harness, email string, tags []string, attrs map[string]any, lists ...int64) int64 {
	t.Helper()
	in := store.ContactInput{Email: &email, Attributes: attrs, Lists: lists, Source: "test"}
	if tags != nil {
		in.Tags = &tags
	}
	c, _, err := h.st.CreateContact(context.Background(), in, false)
	if err != nil {
		t.Fatalf("seed %s: %v", email, err)
	}
	return c.ID
}

func TestAPIContactCreateConflictAndUpsert(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	single := audSeedList(t, h, "Newsletter", store.OptInSingle)
	double := audSeedList(t, h, "Product news", store.OptInDouble)

	resp := h.request(http.DefaultClient, http.MethodPost, "/api/v1/contacts",
		strings.NewReader(`{"email":" Ann@Example.com ","first_name":"Ann","last_name":"Archer",
		"attributes":{"plan":"pro","seats":3,"trial":true},"tags":["vip","beta","VIP"],"lists":[`+itoa(single)+`,`+itoa(double)+`]}`),
		map[string]string{"Sec-Fetch-Site": "", "Content-Type": "application/json", "Authorization": "Bearer " + key})
	raw := body(t, resp)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: got %d %s, want 201", resp.StatusCode, raw)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		t.Fatal(err)
	}
	c := audData(t, out)
	id := audID(c)
	if got, want := resp.Header.Get("Location"), "/api/v1/contacts/"+itoa(id); got != want {
		t.Errorf("Location: got %q, want %q", got, want)
	}
	for _, k := range []string{"id", "email", "first_name", "last_name", "attributes", "status", "source", "tags", "lists", "consent", "created_at", "updated_at"} {
		if _, ok := c[k]; !ok {
			t.Errorf("contact lacks the key %q: %v", k, c)
		}
	}
	if _, ok := c["erased_at"]; ok {
		t.Errorf("a contact never erased shows erased_at: %v", c)
	}
	if c["consent"] != nil {
		t.Errorf("consent: got %v, want null", c["consent"])
	}
	if c["email"] != "ann@example.com" || c["first_name"] != "Ann" || c["last_name"] != "Archer" || c["status"] != "active" || c["source"] != "api" {
		t.Errorf("contact fields: got %v", c)
	}
	if got, want := c["attributes"], map[string]any{"plan": "pro", "seats": 3.0, "trial": true}; !reflect.DeepEqual(got, want) {
		t.Errorf("attributes: got %v, want %v", got, want)
	}
	if got, want := c["tags"], []any{"beta", "vip"}; !reflect.DeepEqual(got, want) {
		t.Errorf("tags: got %v, want %v (trimmed, deduplicated ignoring case, sorted)", got, want)
	}
	lists, _ := c["lists"].([]any)
	status := map[string]any{}
	for _, l := range lists {
		m := l.(map[string]any)
		status[m["name"].(string)] = m["status"]
		if m["id"] == nil || m["created_at"] == nil {
			t.Errorf("membership lacks id or created_at: %v", m)
		}
	}
	// Added through the API, the contact is confirmed even on a double opt-in list.
	if want := map[string]any{"Newsletter": "confirmed", "Product news": "confirmed"}; !reflect.DeepEqual(status, want) {
		t.Errorf("list statuses: got %v, want %v", status, want)
	}

	code, out := h.api(key, http.MethodPost, "/api/v1/contacts", map[string]any{"email": "ANN@example.COM"})
	if ec, _ := audError(out); code != http.StatusConflict || ec != "conflict" {
		t.Fatalf("same email in another case: got %d %v, want 409 conflict", code, out)
	}

	code, out = h.api(key, http.MethodPost, "/api/v1/contacts?upsert=true",
		map[string]any{"email": "ann@example.com", "first_name": "Annie", "attributes": map[string]any{"seats": 5, "city": "Leeds"}})
	if code != http.StatusOK {
		t.Fatalf("upsert of an existing email: got %d %v, want 200", code, out)
	}
	c = audData(t, out)
	if audID(c) != id || c["first_name"] != "Annie" || c["last_name"] != "Archer" {
		t.Errorf("upserted contact: got %v, want the same contact renamed Annie, last name kept", c)
	}
	if got, want := c["attributes"], map[string]any{"plan": "pro", "seats": 5.0, "trial": true, "city": "Leeds"}; !reflect.DeepEqual(got, want) {
		t.Errorf("upserted attributes: got %v, want %v (merged)", got, want)
	}
	code, out = h.api(key, http.MethodPost, "/api/v1/contacts?upsert=true", map[string]any{"email": "new@example.com"})
	if code != http.StatusCreated {
		t.Errorf("upsert of a new email: got %d %v, want 201", code, out)
	}
}

func TestAPIContactValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	cases := []struct {
		name  string
		body  string
		field string
	}{
		{"no email", `{"first_name":"Ann"}`, "email"},
		{"bad email", `{"email":"not-an-address"}`, "email"},
		{"attribute key with a space", `{"email":"a@example.com","attributes":{"Bad Key":1}}`, "attributes"},
		{"nested attribute value", `{"email":"a@example.com","attributes":{"address":{"city":"Leeds"}}}`, "attributes"},
		{"list attribute value", `{"email":"a@example.com","attributes":{"pets":["cat"]}}`, "attributes"},
		{"unknown list", `{"email":"a@example.com","lists":[999]}`, "lists"},
		{"bad status", `{"email":"a@example.com","status":"sleeping"}`, "status"},
		{"bad list status", `{"email":"a@example.com","list_status":"maybe"}`, "list_status"},
		{"empty tag", `{"email":"a@example.com","tags":["ok"," "]}`, "tags"},
		{"two-line name", `{"email":"a@example.com","first_name":"A\nB"}`, "first_name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out := h.api(key, http.MethodPost, "/api/v1/contacts", tc.body)
			ec, fields := audError(out)
			if code != http.StatusUnprocessableEntity || ec != "validation_failed" || fields[tc.field] == nil {
				t.Fatalf("got %d %v, want 422 naming %q", code, out, tc.field)
			}
		})
	}
	if n, _ := h.st.CountContacts(context.Background(), store.ContactFilter{}); n != 0 {
		t.Fatalf("refused bodies stored %d contacts, want 0", n)
	}
}

func TestAPIContactListFilters(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeRead)
	ctx := context.Background()
	news := audSeedList(t, h, "Newsletter", store.OptInSingle)
	audSeedContact(t, h, "ann@example.com", []string{"vip"}, nil, news)
	audSeedContact(t, h, "bob@example.com", []string{"vip"}, nil)
	carl := audSeedContact(t, h, "carl@other.org", nil, nil, news)
	unsub := store.StatusUnsubscribed
	if _, err := h.st.UpdateContact(ctx, carl, store.ContactInput{Status: &unsub}); err != nil {
		t.Fatal(err)
	}
	seg, err := h.st.CreateSegment(ctx, store.SegmentInput{Name: audPtr("VIPs at example.com"), Rules: &store.Rule{Match: "all", Conditions: []store.Rule{
		{Field: "tag", Op: "eq", Value: json.RawMessage(`"vip"`)},
		{Field: "email", Op: "contains", Value: json.RawMessage(`"example.com"`)},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{"carl@other.org", "bob@example.com", "ann@example.com"}},
		{"?q=bo", []string{"bob@example.com"}},
		{"?q=ann%40exa", []string{"ann@example.com"}},
		{"?q=nobody", []string{}},
		{"?list_id=" + itoa(news), []string{"carl@other.org", "ann@example.com"}},
		{"?tag=vip", []string{"bob@example.com", "ann@example.com"}},
		{"?tag=VIP&list_id=" + itoa(news), []string{"ann@example.com"}},
		{"?status=unsubscribed", []string{"carl@other.org"}},
		{"?segment_id=" + itoa(seg.ID), []string{"bob@example.com", "ann@example.com"}},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			code, out := h.api(key, http.MethodGet, "/api/v1/contacts"+tc.query, nil)
			if code != http.StatusOK {
				t.Fatalf("got %d %v, want 200", code, out)
			}
			if got := audEmails(out); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if got := out["meta"].(map[string]any)["total"]; got != float64(len(tc.want)) {
				t.Errorf("meta total: got %v, want %d", got, len(tc.want))
			}
		})
	}

	code, out := h.api(key, http.MethodGet, "/api/v1/contacts?per_page=2&page=2", nil)
	meta, _ := out["meta"].(map[string]any)
	if got := audEmails(out); code != http.StatusOK || !reflect.DeepEqual(got, []string{"ann@example.com"}) {
		t.Errorf("page 2 of 2: got %d %v, want [ann@example.com]", code, got)
	}
	if want := map[string]any{"total": 3.0, "page": 2.0, "per_page": 2.0, "total_pages": 2.0}; !reflect.DeepEqual(meta, want) {
		t.Errorf("meta: got %v, want %v", meta, want)
	}

	bad := []struct {
		query  string
		status int
		field  string
	}{
		{"?list_id=abc", http.StatusBadRequest, "list_id"},
		{"?list_id=0", http.StatusBadRequest, "list_id"},
		{"?segment_id=-1", http.StatusBadRequest, "segment_id"},
		{"?page=0", http.StatusBadRequest, "page"},
		{"?status=sleeping", http.StatusUnprocessableEntity, "status"},
	}
	for _, tc := range bad {
		code, out := h.api(key, http.MethodGet, "/api/v1/contacts"+tc.query, nil)
		if _, fields := audError(out); code != tc.status || fields[tc.field] == nil {
			t.Errorf("%s: got %d %v, want %d naming %q", tc.query, code, out, tc.status, tc.field)
		}
	}
	if code, _ := h.api(key, http.MethodGet, "/api/v1/contacts?segment_id=999", nil); code != http.StatusNotFound {
		t.Errorf("missing segment: got %d, want 404", code)
	}
}

func TestAPIContactGetPatchDelete(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	news := audSeedList(t, h, "Newsletter", store.OptInSingle)
	_, out := h.api(key, http.MethodPost, "/api/v1/contacts", map[string]any{"email": "ann@example.com", "attributes": map[string]any{"x": 1, "y": "keep"}})
	id := audID(audData(t, out))
	path := "/api/v1/contacts/" + itoa(id)

	code, out := h.api(key, http.MethodGet, path, nil)
	if code != http.StatusOK || audData(t, out)["email"] != "ann@example.com" {
		t.Fatalf("get: got %d %v", code, out)
	}
	code, out = h.api(key, http.MethodPatch, path, map[string]any{"first_name": "Ann", "attributes": map[string]any{"x": nil, "z": false},
		"tags": []string{"new"}, "lists": []int64{news}, "list_status": "unconfirmed"})
	if code != http.StatusOK {
		t.Fatalf("patch: got %d %v", code, out)
	}
	c := audData(t, out)
	if got, want := c["attributes"], map[string]any{"y": "keep", "z": false}; !reflect.DeepEqual(got, want) {
		t.Errorf("attributes after patch: got %v, want %v (x removed by null)", got, want)
	}
	if c["first_name"] != "Ann" || c["email"] != "ann@example.com" || !reflect.DeepEqual(c["tags"], []any{"new"}) {
		t.Errorf("patched contact: got %v", c)
	}
	if lists := c["lists"].([]any); len(lists) != 1 || lists[0].(map[string]any)["status"] != "unconfirmed" {
		t.Errorf("lists after patch: got %v, want Newsletter unconfirmed", lists)
	}
	code, out = h.api(key, http.MethodPatch, path, map[string]any{"email": "broken"})
	if _, fields := audError(out); code != http.StatusUnprocessableEntity || fields["email"] == nil {
		t.Errorf("patch to a bad email: got %d %v, want 422 naming email", code, out)
	}
	h.api(key, http.MethodPost, "/api/v1/contacts", map[string]any{"email": "bob@example.com"})
	code, out = h.api(key, http.MethodPatch, path, map[string]any{"email": "BOB@example.com"})
	if ec, _ := audError(out); code != http.StatusConflict || ec != "conflict" {
		t.Errorf("patch to another contact's email: got %d %v, want 409", code, out)
	}
	code, out = h.api(key, http.MethodPatch, path, map[string]any{"nickname": "A"})
	if _, fields := audError(out); code != http.StatusBadRequest || fields["nickname"] == nil {
		t.Errorf("unknown field: got %d %v, want 400 naming nickname", code, out)
	}

	code, out = h.api(key, http.MethodGet, path+"/events", nil)
	if code != http.StatusOK {
		t.Fatalf("events: got %d %v", code, out)
	}
	events, _ := out["data"].([]any)
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.(map[string]any)["kind"].(string))
	}
	if want := []string{"subscribed", "updated", "added"}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("timeline kinds, newest first: got %v, want %v", kinds, want)
	}
	if last := events[len(events)-1].(map[string]any); last["detail"] != "Added from api" || last["created_at"] == nil {
		t.Errorf("first event: got %v, want Added from api with a time", last)
	}

	if code, _ := h.api(key, http.MethodDelete, path, nil); code != http.StatusNoContent {
		t.Fatalf("delete: got %d, want 204", code)
	}
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, path}, {http.MethodPatch, path}, {http.MethodDelete, path}, {http.MethodGet, path + "/events"},
		{http.MethodGet, path + "/export"}, {http.MethodPost, path + "/erase"}, {http.MethodGet, "/api/v1/contacts/abc"},
	} {
		code, out := h.api(key, tc.method, tc.path, map[string]any{"first_name": "x"})
		if ec, _ := audError(out); code != http.StatusNotFound || ec != "not_found" {
			t.Errorf("%s %s: got %d %v, want 404", tc.method, tc.path, code, out)
		}
	}
}

func TestAPIContactExportAndErase(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	news := audSeedList(t, h, "Newsletter", store.OptInSingle)
	_, out := h.api(key, http.MethodPost, "/api/v1/contacts", map[string]any{"email": "ann@example.com", "first_name": "Ann", "last_name": "Archer",
		"attributes": map[string]any{"city": "Leeds"}, "tags": []string{"vip"}, "lists": []int64{news}})
	id := audID(audData(t, out))
	path := "/api/v1/contacts/" + itoa(id)

	resp := h.request(http.DefaultClient, http.MethodGet, path+"/export", nil, map[string]string{"Sec-Fetch-Site": "", "Authorization": "Bearer " + key})
	raw := body(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("export: got %d %s", resp.StatusCode, raw)
	}
	if got, want := resp.Header.Get("Content-Disposition"), `attachment; filename="contact-`+itoa(id)+`.json"`; got != want {
		t.Errorf("Content-Disposition: got %q, want %q", got, want)
	}
	var doc struct {
		Contact    map[string]any   `json:"contact"`
		Timeline   []map[string]any `json:"timeline"`
		Opens      []map[string]any `json:"opens"`
		ExportedAt string           `json:"exported_at"`
	}
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		t.Fatalf("export is not JSON: %v: %s", err, raw)
	}
	if doc.Contact["email"] != "ann@example.com" || doc.Contact["attributes"].(map[string]any)["city"] != "Leeds" || len(doc.Timeline) < 2 || doc.Opens == nil || doc.ExportedAt == "" {
		t.Errorf("export: got %+v, want the contact, its timeline, its opens (none yet) and a time", doc)
	}

	code, out := h.api(key, http.MethodPost, path+"/erase", nil)
	if code != http.StatusOK {
		t.Fatalf("erase: got %d %v", code, out)
	}
	c := audData(t, out)
	email, _ := c["email"].(string)
	if !strings.HasPrefix(email, "erased-"+itoa(id)+"-") || !strings.HasSuffix(email, "@erased.invalid") {
		t.Errorf("erased email: got %q, want erased-%d-…@erased.invalid", email, id)
	}
	if c["first_name"] != "" || c["last_name"] != "" || len(c["attributes"].(map[string]any)) != 0 || len(c["tags"].([]any)) != 0 ||
		c["status"] != "unsubscribed" || c["erased_at"] == nil || c["source"] != "" {
		t.Errorf("erased contact: got %v, want no personal data, unsubscribed, erased_at set", c)
	}
	for _, l := range c["lists"].([]any) {
		if st := l.(map[string]any)["status"]; st != "unsubscribed" {
			t.Errorf("erased contact's list status: got %v, want unsubscribed", st)
		}
	}
	if _, err := h.st.ContactByEmail(context.Background(), "ann@example.com"); err == nil {
		t.Error("the old address still finds the contact after erasure")
	}
	_, out = h.api(key, http.MethodGet, path+"/events", nil)
	if events := out["data"].([]any); len(events) != 1 || events[0].(map[string]any)["kind"] != "erased" {
		t.Errorf("timeline after erasure: got %v, want only the erasure", events)
	}
	code, out = h.api(key, http.MethodPatch, path, map[string]any{"first_name": "Ann"})
	if _, fields := audError(out); code != http.StatusUnprocessableEntity || fields["id"] == nil {
		t.Errorf("patch after erasure: got %d %v, want 422", code, out)
	}
}

func TestAPIContactBulkAndTags(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	ctx := context.Background()
	news := audSeedList(t, h, "Newsletter", store.OptInSingle)
	a := audSeedContact(t, h, "a@example.com", nil, nil)
	b := audSeedContact(t, h, "b@example.com", nil, nil)
	c := audSeedContact(t, h, "c@example.com", []string{"old"}, nil)

	cases := []struct {
		name    string
		body    any
		changed float64
	}{
		{"tag by ids", map[string]any{"action": "tag", "tag": "vip", "ids": []int64{a, b}}, 2},
		{"tag again changes nothing", map[string]any{"action": "tag", "tag": "vip", "ids": []int64{a, b}}, 0},
		{"add to list by filter", map[string]any{"action": "add_to_list", "list_id": news, "all": true, "filter": map[string]any{"tag": "vip"}}, 2},
		{"unsubscribe all with a tag", map[string]any{"action": "unsubscribe", "all": true, "filter": map[string]any{"tag": "vip"}}, 2},
		{"untag by email prefix", map[string]any{"action": "untag", "tag": "old", "all": true, "filter": map[string]any{"q": "c@"}}, 1},
	}
	for _, tc := range cases {
		code, out := h.api(key, http.MethodPost, "/api/v1/contacts/bulk", tc.body)
		if code != http.StatusOK || audData(t, out)["changed"] != tc.changed {
			t.Errorf("%s: got %d %v, want 200 with %v changed", tc.name, code, out, tc.changed)
		}
	}
	for id, want := range map[int64]string{a: "unsubscribed", b: "unsubscribed", c: "active"} {
		ct, _ := h.st.Contact(ctx, id)
		if ct.Status != want {
			t.Errorf("%s status: got %s, want %s", ct.Email, ct.Status, want)
		}
	}
	// Unsubscribing from all mail also takes people off their lists.
	if l, _ := h.st.List(ctx, news); l.Confirmed != 0 || l.Unsubscribed != 2 {
		t.Errorf("list members: got %d confirmed, %d unsubscribed, want 0 and 2", l.Confirmed, l.Unsubscribed)
	}

	refused := []struct {
		name  string
		body  any
		field string
	}{
		{"neither ids nor all", map[string]any{"action": "tag", "tag": "x"}, "ids"},
		{"unknown action", map[string]any{"action": "explode", "ids": []int64{a}}, "action"},
		{"tag without a name", map[string]any{"action": "tag", "ids": []int64{a}}, "tag"},
		{"missing list", map[string]any{"action": "add_to_list", "list_id": 999, "ids": []int64{a}}, "list_id"},
	}
	for _, tc := range refused {
		code, out := h.api(key, http.MethodPost, "/api/v1/contacts/bulk", tc.body)
		if _, fields := audError(out); code != http.StatusUnprocessableEntity || fields[tc.field] == nil {
			t.Errorf("%s: got %d %v, want 422 naming %q", tc.name, code, out, tc.field)
		}
	}

	code, out := h.api(key, http.MethodGet, "/api/v1/tags", nil)
	tags, _ := out["data"].([]any)
	if code != http.StatusOK || !reflect.DeepEqual(tags, []any{"vip"}) {
		t.Errorf("tags: got %d %v, want [vip] (old is no longer used)", code, out)
	}
}

func TestAPIContactsReadOnlyKey(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ro := h.apiKey(store.ScopeRead)
	id := audSeedContact(t, h, "a@example.com", nil, nil)
	writes := []struct{ method, path string }{
		{http.MethodPost, "/api/v1/contacts"},
		{http.MethodPatch, "/api/v1/contacts/" + itoa(id)},
		{http.MethodDelete, "/api/v1/contacts/" + itoa(id)},
		{http.MethodPost, "/api/v1/contacts/" + itoa(id) + "/erase"},
		{http.MethodPost, "/api/v1/contacts/bulk"},
		{http.MethodPost, "/api/v1/lists"},
		{http.MethodPost, "/api/v1/segments"},
		{http.MethodPost, "/api/v1/suppressions"},
	}
	for _, w := range writes {
		code, out := h.api(ro, w.method, w.path, map[string]any{"email": "b@example.com"})
		if ec, _ := audError(out); code != http.StatusForbidden || ec != "insufficient_scope" {
			t.Errorf("%s %s with a read-only key: got %d %v, want 403", w.method, w.path, code, out)
		}
	}
	if code, _ := h.api(ro, http.MethodGet, "/api/v1/contacts/"+itoa(id), nil); code != http.StatusOK {
		t.Errorf("GET with a read-only key: got %d, want 200", code)
	}
	if ct, err := h.st.Contact(context.Background(), id); err != nil || !ct.ErasedAt.IsZero() {
		t.Errorf("the refused requests changed the contact: %+v, %v", ct, err)
	}
	if n, _ := h.st.CountContacts(context.Background(), store.ContactFilter{}); n != 1 {
		t.Errorf("contacts after refused writes: got %d, want 1", n)
	}
}
