package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"herald/store"
)

var audExportName = regexp.MustCompile(`^attachment; filename="contacts-\d{8}-\d{6}\.(csv|json)"$`)

// audAPIGet sends an authenticated GET to the API and returns the raw response.
func (h *harness) audAPIGet(key, path string) *http.Response {
	h.t.Helper()
	return h.request(http.DefaultClient, http.MethodGet, path, nil, map[string]string{"Sec-Fetch-Site": "", "Authorization": "Bearer " + key})
}

func audReadCSV(t testing.TB, raw string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v: %.300s", err, raw)
	}
	return recs
}

func TestExportCSVAndJSON(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeRead)
	news := audSeedList(t, h, "Newsletter", store.OptInSingle)
	alerts := audSeedList(t, h, "Alerts", store.OptInSingle)
	audSeedContact(t, h, "ann@example.com", []string{"vip", "beta"}, map[string]any{"plan": "pro", "seats": 3.5, "active": true}, news, alerts)
	audSeedContact(t, h, "bob@example.com", nil, map[string]any{"zone": "eu"})
	audSeedContact(t, h, "carl@example.com", []string{"vip"}, map[string]any{"city": "Leeds, \"West\" Yorks"})

	resp := h.audAPIGet(key, "/api/v1/contacts/export?format=csv&tag=vip")
	raw := body(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv export: got %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if cd := resp.Header.Get("Content-Disposition"); !audExportName.MatchString(cd) || !strings.HasSuffix(cd, `.csv"`) {
		t.Errorf("Content-Disposition: got %q, want an attachment named contacts-<time>.csv", cd)
	}
	recs := audReadCSV(t, raw)
	header := []string{"email", "first_name", "last_name", "status", "tags", "lists", "created_at", "active", "city", "plan", "seats"}
	if !reflect.DeepEqual(recs[0], header) {
		t.Fatalf("header: got %v, want %v (attribute keys of the matching contacts, sorted)", recs[0], header)
	}
	if len(recs) != 3 {
		t.Fatalf("rows: got %d, want 2 (ann and carl) after the header", len(recs)-1)
	}
	ann, carl := recs[1], recs[2]
	if want := []string{"ann@example.com", "", "", "active", "beta;vip", "Alerts;Newsletter"}; !reflect.DeepEqual(ann[:6], want) {
		t.Errorf("ann: got %v, want %v", ann[:6], want)
	}
	if want := []string{"true", "", "pro", "3.5"}; !reflect.DeepEqual(ann[7:], want) {
		t.Errorf("ann's attributes: got %v, want %v", ann[7:], want)
	}
	if carl[0] != "carl@example.com" || carl[8] != `Leeds, "West" Yorks` || carl[9] != "" {
		t.Errorf("carl: got %v, want the quoted city and an empty plan", carl)
	}

	resp = h.audAPIGet(key, "/api/v1/contacts/export?status=active")
	if recs := audReadCSV(t, body(t, resp)); resp.StatusCode != http.StatusOK || len(recs) != 4 || recs[0][len(recs[0])-1] != "zone" {
		t.Errorf("export without a format: got %d with %d records, want CSV of 3 contacts with a zone column", resp.StatusCode, len(recs))
	}

	resp = h.audAPIGet(key, "/api/v1/contacts/export?format=json&list_id="+itoa(news))
	raw = body(t, resp)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" || !strings.HasSuffix(resp.Header.Get("Content-Disposition"), `.json"`) {
		t.Fatalf("json export: got %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
	}
	var items []map[string]any
	if err := json.Unmarshal([]byte(raw), &items); err != nil {
		t.Fatalf("json export is not a JSON array: %v: %s", err, raw)
	}
	if len(items) != 1 || items[0]["email"] != "ann@example.com" || items[0]["attributes"].(map[string]any)["plan"] != "pro" || len(items[0]["lists"].([]any)) != 2 {
		t.Errorf("json export: got %v, want ann with her attributes and two lists", items)
	}
	resp = h.audAPIGet(key, "/api/v1/contacts/export?format=json&tag=nobody")
	if raw := body(t, resp); strings.TrimSpace(raw) != "[\n]" && strings.TrimSpace(raw) != "[]" {
		t.Errorf("empty json export: got %q, want an empty array", raw)
	}

	refused := []struct {
		query  string
		status int
		field  string
	}{
		{"?format=xml", http.StatusBadRequest, "format"},
		{"?format=csv&list_id=x", http.StatusBadRequest, "list_id"},
		{"?format=csv&status=sleeping", http.StatusUnprocessableEntity, "status"},
	}
	for _, tc := range refused {
		code, out := h.api(key, http.MethodGet, "/api/v1/contacts/export"+tc.query, nil)
		if _, fields := audError(out); code != tc.status || fields[tc.field] == nil {
			t.Errorf("%s: got %d %v, want %d naming %q", tc.query, code, out, tc.status, tc.field)
		}
	}
	if code, _ := h.api(key, http.MethodGet, "/api/v1/contacts/export?segment_id=99", nil); code != http.StatusNotFound {
		t.Errorf("export of a missing segment: got %d, want 404", code)
	}
}

func TestExportFromTheAdminUI(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	audSeedContact(t, h, "ann@example.com", []string{"vip"}, nil)
	audSeedContact(t, h, "bob@example.com", nil, nil)
	if resp := h.get("/contacts/export?format=csv&tag=vip"); resp.StatusCode == http.StatusOK {
		t.Fatalf("anonymous export: got 200, want it refused")
	}
	h.signIn()
	resp := h.get("/contacts/export?format=csv&tag=vip")
	recs := audReadCSV(t, body(t, resp))
	if resp.StatusCode != http.StatusOK || !audExportName.MatchString(resp.Header.Get("Content-Disposition")) {
		t.Fatalf("UI export: got %d %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
	}
	if len(recs) != 2 || recs[1][0] != "ann@example.com" {
		t.Errorf("UI export: got %v, want the header and ann", recs)
	}
	if resp := h.get("/contacts/export?format=xml"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("UI export as xml: got %d, want 400", resp.StatusCode)
	}
	if resp := h.get("/contacts/export?list_id=abc"); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("UI export with a bad list: got %d, want 422", resp.StatusCode)
	}
}

// TestExportStreamsEveryContact exports more contacts than one read batch
// holds, so the batches must join up with nothing lost or repeated.
func TestExportStreamsEveryContact(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("creates 2,100 contacts")
	}
	h := newHarness(t)
	key := h.apiKey(store.ScopeRead)
	const n = 2100
	ctx := context.Background()
	for i := 0; i < n; i++ {
		email := fmt.Sprintf("c%04d@example.com", i)
		in := store.ContactInput{Email: &email}
		if i%3 == 0 {
			in.Tags = &[]string{"third"}
		}
		if _, _, err := h.st.CreateContact(ctx, in, false); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"", n},
		{"&tag=third", n / 3},
	} {
		resp := h.audAPIGet(key, "/api/v1/contacts/export?format=csv"+tc.query)
		recs := audReadCSV(t, body(t, resp))
		seen := map[string]bool{}
		for _, r := range recs[1:] {
			seen[r[0]] = true
		}
		if resp.StatusCode != http.StatusOK || len(recs)-1 != tc.want || len(seen) != tc.want {
			t.Errorf("export%s: got %d rows, %d distinct, want %d", tc.query, len(recs)-1, len(seen), tc.want)
		}
		for i := 0; i < n; i += 3 {
			if email := fmt.Sprintf("c%04d@example.com", i); !seen[email] {
				t.Errorf("export%s lacks %s", tc.query, email)
				break
			}
		}
	}
	resp := h.audAPIGet(key, "/api/v1/contacts/export?format=json")
	var items []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&items); err != nil || len(items) != n {
		t.Errorf("json export: got %d items, %v, want %d", len(items), err, n)
	}
}

func TestCSVExportDefusesFormulas(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeRead)
	h.st.CreateContact(context.Background(), store.ContactInput{Email: ptrTo("evil@example.com"), FirstName: ptrTo("=HYPERLINK(\"http://x\")"),
		LastName: ptrTo("+1"), Attributes: map[string]any{"note": "@SUM(1)", "score": -3.0}}, false)
	resp := h.request(http.DefaultClient, http.MethodGet, "/api/v1/contacts/export?format=csv", nil,
		map[string]string{"Authorization": "Bearer " + key, "Sec-Fetch-Site": ""})
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("export: got %v, %v", rows, err)
	}
	got := map[string]string{}
	for i, h := range rows[0] {
		got[h] = rows[1][i]
	}
	for col, want := range map[string]string{"first_name": "'=HYPERLINK(\"http://x\")", "last_name": "'+1", "note": "'@SUM(1)", "score": "-3"} {
		if got[col] != want {
			t.Errorf("%s: got %q, want %q", col, got[col], want)
		}
	}
}

// TestExportDefusesFormulasInEveryColumn exports a contact whose every
// field a spreadsheet would run as a formula, the address included, since
// =1+2@example.com is a valid address anyone can type into a public form.
func TestExportDefusesFormulasInEveryColumn(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeRead)
	list := audSeedList(t, h, "-2+3", store.OptInSingle)
	email, first, last := "=1+2@example.com", "@SUM(A1)", "+cmd|' /C calc'!A0"
	tags := []string{"-tag"}
	_, _, err := h.st.CreateContact(context.Background(), store.ContactInput{Email: &email, FirstName: &first, LastName: &last, Tags: &tags,
		Lists: []int64{list}, Attributes: map[string]any{"link": `=HYPERLINK("http://evil.test","x")`, "balance": -3.5, "code": "-42", "safe": "plain"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	resp := h.audAPIGet(key, "/api/v1/contacts/export?format=csv")
	recs := audReadCSV(t, body(t, resp))
	if len(recs) != 2 {
		t.Fatalf("records: got %d, want a header and one contact", len(recs))
	}
	got := map[string]string{}
	for i, col := range recs[0] {
		got[col] = recs[1][i]
	}
	want := map[string]string{"email": "'=1+2@example.com", "first_name": "'@SUM(A1)", "last_name": "'+cmd|' /C calc'!A0",
		"tags": "'-tag", "lists": "'-2+3", "status": "active", "link": `'=HYPERLINK("http://evil.test","x")`,
		"balance": "-3.5", "code": "'-42", "safe": "plain"}
	for col, w := range want {
		if got[col] != w {
			t.Errorf("%s: got %v, want %v", col, got[col], w)
		}
	}
}
