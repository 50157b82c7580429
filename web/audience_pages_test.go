package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"herald/store"
)

// audIDFrom reads the id at the end of a redirect to /<section>/<id>.
func audIDFrom(t testing.TB, resp *http.Response) int64 {
	t.Helper()
	loc := resp.Header.Get("Location")
	i := strings.LastIndexByte(loc, '/')
	var id int64
	if err := json.Unmarshal([]byte(loc[i+1:]), &id); err != nil || resp.StatusCode != http.StatusSeeOther {
		page, _ := io.ReadAll(resp.Body)
		t.Fatalf("got %d to %q, want 303 to a page ending in an id: %.500s", resp.StatusCode, loc, page)
	}
	return id
}

func TestContactsPageAndHTMXFragment(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	news := audSeedList(t, h, "Newsletter", store.OptInSingle)
	audSeedContact(t, h, "ann@example.com", []string{"vip"}, nil, news)
	audSeedContact(t, h, "bob@example.com", nil, nil)

	resp := h.get("/contacts")
	page := body(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Vary"), "HX-Request") {
		t.Fatalf("contacts page: got %d, Vary %q", resp.StatusCode, resp.Header.Get("Vary"))
	}
	for _, want := range []string{"<html", `id="contacts-results"`, "ann@example.com", "bob@example.com", "2 contacts match", "Newsletter", "vip"} {
		if !strings.Contains(page, want) {
			t.Errorf("contacts page lacks %q", want)
		}
	}

	cases := []struct {
		query   string
		has     []string
		hasNot  []string
		summary string
	}{
		{"", []string{"ann@example.com", "bob@example.com"}, nil, "2 contacts match"},
		{"?q=bo", []string{"bob@example.com"}, []string{"ann@example.com"}, "1 contact matches"},
		{"?tag=vip", []string{"ann@example.com"}, []string{"bob@example.com"}, "1 contact matches"},
		{"?list_id=" + itoa(news), []string{"ann@example.com"}, []string{"bob@example.com"}, "1 contact matches"},
		{"?q=nobody", []string{"No contact matches these filters"}, []string{"ann@example.com"}, "0 contacts match"},
		{"?list_id=abc", []string{"These filters cannot be used"}, nil, "0 contacts match"},
		{"?segment_id=99", []string{"That list or segment no longer exists"}, nil, "0 contacts match"},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			resp := h.request(h.client, http.MethodGet, "/contacts"+tc.query, nil, map[string]string{"HX-Request": "true"})
			frag := body(t, resp)
			if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Vary"), "HX-Request") {
				t.Fatalf("got %d, Vary %q, want 200 varying on HX-Request", resp.StatusCode, resp.Header.Get("Vary"))
			}
			if strings.Contains(frag, "<html") || strings.Contains(frag, "filter-bar") {
				t.Errorf("the htmx answer is a whole page, want only the results")
			}
			for _, want := range append(tc.has, tc.summary) {
				if !strings.Contains(frag, want) {
					t.Errorf("fragment lacks %q", want)
				}
			}
			for _, not := range tc.hasNot {
				if strings.Contains(frag, not) {
					t.Errorf("fragment shows %q, which the filter excludes", not)
				}
			}
		})
	}
}

func TestContactFormCreateEditAndLists(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	ctx := context.Background()
	news := audSeedList(t, h, "Newsletter", store.OptInSingle)
	alerts := audSeedList(t, h, "Alerts", store.OptInDouble)

	if resp := h.get("/contacts/new"); resp.StatusCode != http.StatusOK || !strings.Contains(body(t, resp), `name="attr_key"`) {
		t.Fatalf("new contact form: got %d", resp.StatusCode)
	}
	form := url.Values{"email": {"ann@example.com"}, "first_name": {"Ann"}, "last_name": {""}, "status": {"active"}, "tags": {"vip, new"},
		"lists": {itoa(news), itoa(alerts)}, "attr_key": {"age", "city", "member", "joined", ""}, "attr_type": {"number", "text", "bool", "date", "text"},
		"attr_value": {"42", "Leeds", "true", "2024-05-31", ""}}

	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad["attr_value"] = []string{"forty", "Leeds", "true", "2024-05-31", ""}
	resp := h.postForm("/contacts", bad, nil)
	page := body(t, resp)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "age: enter a number, like 42 or 9.99.") || !strings.Contains(page, `value="forty"`) {
		t.Fatalf("bad number: got %d, want 422 with the message and the typed value kept", resp.StatusCode)
	}
	for _, tc := range []struct{ typ, value, says string }{{"bool", "maybe", "enter true or false"}, {"date", "31/05/2024", "enter a date like"}} {
		bad := url.Values{"email": {"x@example.com"}, "tags": {"t"}, "attr_key": {"k"}, "attr_type": {tc.typ}, "attr_value": {tc.value}}
		resp := h.postForm("/contacts", bad, nil)
		if page := body(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, tc.says) {
			t.Errorf("%s %q: got %d, want 422 saying %q", tc.typ, tc.value, resp.StatusCode, tc.says)
		}
	}
	if n, _ := h.st.CountContacts(ctx, store.ContactFilter{}); n != 0 {
		t.Fatalf("refused forms stored %d contacts", n)
	}

	resp = h.postForm("/contacts", form, nil)
	id := audIDFrom(t, resp)
	c, err := h.st.Contact(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	wantAttrs := map[string]any{"age": 42.0, "city": "Leeds", "member": true, "joined": "2024-05-31"}
	if c.Email != "ann@example.com" || c.FirstName != "Ann" || !reflect.DeepEqual(c.Attributes, wantAttrs) || !reflect.DeepEqual(c.Tags, []string{"new", "vip"}) {
		t.Errorf("created contact: got %+v, want attributes %v and tags [new vip]", c, wantAttrs)
	}
	statuses := map[string]string{}
	for _, m := range c.Memberships {
		statuses[m.ListName] = m.Status
	}
	if want := map[string]string{"Newsletter": "confirmed", "Alerts": "confirmed"}; !reflect.DeepEqual(statuses, want) {
		t.Errorf("memberships: got %v, want %v", statuses, want)
	}
	path := "/contacts/" + itoa(id)
	page = body(t, h.get(path))
	for _, want := range []string{"Contact ann@example.com added.", "Timeline", "Subscribed to Newsletter (confirmed)", "Subscribed to Alerts (confirmed)",
		"Added", `value="Leeds"`, `name="attr_remove" value="city"`} {
		if !strings.Contains(page, want) {
			t.Errorf("contact page lacks %q", want)
		}
	}
	if resp := h.postForm("/contacts", form, nil); resp.StatusCode != http.StatusConflict || !strings.Contains(body(t, resp), "Another contact already has this email") {
		t.Errorf("same email again: got %d, want 409", resp.StatusCode)
	}

	edit := url.Values{"email": {"ann@example.com"}, "first_name": {"Annie"}, "last_name": {"Archer"}, "status": {"active"}, "tags": {"vip"},
		"attr_key": {"age", "city", "member", "joined", "plan"}, "attr_type": {"number", "text", "bool", "date", "text"},
		"attr_value": {"43", "Leeds", "true", "", "gold"}, "attr_remove": {"city"}}
	resp = h.postForm(path, edit, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != path {
		t.Fatalf("update: got %d to %q: %.500s", resp.StatusCode, resp.Header.Get("Location"), body(t, resp))
	}
	c, _ = h.st.Contact(ctx, id)
	if want := map[string]any{"age": 43.0, "member": true, "plan": "gold"}; !reflect.DeepEqual(c.Attributes, want) {
		t.Errorf("attributes after update: got %v, want %v (city ticked, joined emptied)", c.Attributes, want)
	}
	if c.FirstName != "Annie" || c.LastName != "Archer" || !reflect.DeepEqual(c.Tags, []string{"vip"}) {
		t.Errorf("updated contact: got %+v", c)
	}
	if !strings.Contains(body(t, h.get(path)), "Details updated") {
		t.Error("the timeline does not show the update")
	}

	for _, tc := range []struct {
		list   int64
		status string
		want   string
	}{
		{news, "unsubscribed", "unsubscribed"},
		{alerts, "confirmed", "confirmed"},
		{news, "", ""},
	} {
		resp := h.postForm(path+"/lists", url.Values{"list_id": {itoa(tc.list)}, "status": {tc.status}}, nil)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("set list %d to %q: got %d", tc.list, tc.status, resp.StatusCode)
		}
		c, _ := h.st.Contact(ctx, id)
		got := ""
		for _, m := range c.Memberships {
			if m.ListID == tc.list {
				got = m.Status
			}
		}
		if got != tc.want {
			t.Errorf("status on list %d after setting %q: got %q, want %q", tc.list, tc.status, got, tc.want)
		}
	}
	if resp := h.postForm(path+"/lists", url.Values{"list_id": {itoa(news)}, "status": {"maybe"}}, nil); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad list status: got %d, want 422", resp.StatusCode)
	}
	if resp := h.postForm("/contacts/999", edit, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("update of a missing contact: got %d, want 404", resp.StatusCode)
	}
}

// TestContactFormWithoutTags saves contacts whose tags field is empty, as
// the form sends it for anyone without tags.
func TestContactFormWithoutTags(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	ctx := context.Background()
	cases := []struct {
		name, tags string
		want       []string
	}{
		{"empty", "", []string{}},
		{"blank", " ", []string{}},
		{"trailing comma", "vip, ", []string{"vip"}},
		{"stray commas", ", vip,,Vip", []string{"vip"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			email := "t" + itoa(int64(i)) + "@example.com"
			resp := h.postForm("/contacts", url.Values{"email": {email}, "status": {"active"}, "tags": {tc.tags}}, nil)
			id := audIDFrom(t, resp)
			c, _ := h.st.Contact(ctx, id)
			if want := tc.want; !reflect.DeepEqual(c.Tags, want) {
				t.Errorf("tags: got %v, want %v", c.Tags, want)
			}
			resp = h.postForm("/contacts/"+itoa(id), url.Values{"email": {email}, "first_name": {"Named"}, "status": {"active"}, "tags": {""}}, nil)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("saving with the tags emptied: got %d, want 303", resp.StatusCode)
			}
			if c, _ := h.st.Contact(ctx, id); len(c.Tags) != 0 || c.FirstName != "Named" {
				t.Errorf("after emptying the tags: got %v %q, want no tags", c.Tags, c.FirstName)
			}
		})
	}
}

func TestContactBulkForm(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	ctx := context.Background()
	a := audSeedContact(t, h, "a@example.com", nil, nil)
	b := audSeedContact(t, h, "b@example.com", nil, nil)
	c := audSeedContact(t, h, "c@example.com", nil, nil)

	resp := h.postForm("/contacts/bulk", url.Values{"scope": {"selected"}, "ids": {itoa(a), itoa(b)}, "action": {"tag"}, "tag": {"vip"}, "filter": {""}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/contacts" {
		t.Fatalf("tag selected: got %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if page := body(t, h.get("/contacts")); !strings.Contains(page, "Done: 2 contacts changed.") {
		t.Error("no flash after tagging two contacts")
	}
	if n, _ := h.st.CountContacts(ctx, store.ContactFilter{Tag: "vip"}); n != 2 {
		t.Errorf("tagged contacts: got %d, want 2", n)
	}

	resp = h.postForm("/contacts/bulk", url.Values{"scope": {"all"}, "filter": {"tag=vip"}, "action": {"unsubscribe"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/contacts?tag=vip" {
		t.Fatalf("unsubscribe all tagged: got %d to %q, want back to the filtered view", resp.StatusCode, resp.Header.Get("Location"))
	}
	for id, want := range map[int64]string{a: "unsubscribed", b: "unsubscribed", c: "active"} {
		if ct, _ := h.st.Contact(ctx, id); ct.Status != want {
			t.Errorf("%s: got %s, want %s", ct.Email, ct.Status, want)
		}
	}

	refused := []struct {
		name  string
		form  url.Values
		flash string
	}{
		{"nothing ticked", url.Values{"scope": {"selected"}, "action": {"tag"}, "tag": {"x"}}, "Tick the contacts to change first"},
		{"no action", url.Values{"scope": {"selected"}, "ids": {itoa(c)}, "action": {""}}, "Nothing changed: Action must be one of"},
		{"no list", url.Values{"scope": {"all"}, "action": {"add_to_list"}}, "Nothing changed: Choose a list."},
	}
	for _, tc := range refused {
		resp := h.postForm("/contacts/bulk", tc.form, nil)
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s: got %d, want 303 back", tc.name, resp.StatusCode)
			continue
		}
		if page := body(t, h.get(resp.Header.Get("Location"))); !strings.Contains(page, tc.flash) {
			t.Errorf("%s: the page after lacks %q", tc.name, tc.flash)
		}
	}
	if ct, _ := h.st.Contact(ctx, c); ct.Status != "active" || len(ct.Tags) != 0 {
		t.Errorf("refused bulk actions changed c: %+v", ct)
	}
}

func TestListPages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	ctx := context.Background()
	if resp := h.get("/lists/new"); resp.StatusCode != http.StatusOK {
		t.Fatalf("new list page: got %d", resp.StatusCode)
	}
	form := url.Values{"name": {"Weekly"}, "description": {"Every Friday"}, "opt_in": {"double"}, "visibility": {"public"},
		"field_key": {"company", "", "role"}, "field_label": {"Company", "", "Role"}, "field_required": {"0"}}
	resp := h.postForm("/lists", form, nil)
	id := audIDFrom(t, resp)
	l, err := h.st.List(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	wantFields := []store.FormField{{Key: "company", Label: "Company", Required: true}, {Key: "role", Label: "Role"}}
	if l.Name != "Weekly" || l.OptIn != "double" || l.Visibility != "public" || !reflect.DeepEqual(l.FormFields, wantFields) {
		t.Errorf("stored list: got %+v, want fields %v", l, wantFields)
	}
	path := "/lists/" + itoa(id)
	page := body(t, h.get(path))
	for _, want := range []string{"List Weekly created.", "/subscribe/" + itoa(id), `value="company"`, `value="Role"`, "0 confirmed"} {
		if !strings.Contains(page, want) {
			t.Errorf("list page lacks %q", want)
		}
	}
	audSeedContact(t, h, "m@example.com", nil, nil, id)
	if page := body(t, h.get("/lists")); !strings.Contains(page, "Weekly") || !strings.Contains(page, "Every Friday") {
		t.Error("the lists page does not show the list")
	}

	dup := url.Values{"name": {"WEEKLY"}, "opt_in": {"single"}, "visibility": {"private"}}
	resp = h.postForm("/lists", dup, nil)
	if page := body(t, resp); resp.StatusCode != http.StatusConflict || !strings.Contains(page, "Another list already has this name") {
		t.Errorf("duplicate name: got %d, want 409", resp.StatusCode)
	}
	invalid := []struct {
		name string
		form url.Values
		says string
	}{
		{"no name", url.Values{"name": {""}, "opt_in": {"single"}, "visibility": {"private"}}, "Give the list a name"},
		{"bad field key", url.Values{"name": {"Weekly"}, "opt_in": {"single"}, "visibility": {"private"}, "field_key": {"Company Name"}, "field_label": {"Company"}},
			"Each form field needs a lower_snake_case key"},
		{"field without label", url.Values{"name": {"Weekly"}, "opt_in": {"single"}, "visibility": {"private"}, "field_key": {"company"}, "field_label": {""}},
			"Each form field needs"},
		// The radio buttons offer only single and double, so the page has no place for this message.
		{"bad opt-in", url.Values{"name": {"Weekly"}, "opt_in": {"triple"}, "visibility": {"private"}}, "Weekly"},
	}
	for _, tc := range invalid {
		resp := h.postForm(path, tc.form, nil)
		if page := body(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, tc.says) {
			t.Errorf("%s: got %d, want 422 saying %q", tc.name, resp.StatusCode, tc.says)
		}
	}
	if l, _ := h.st.List(ctx, id); l.Name != "Weekly" || len(l.FormFields) != 2 {
		t.Errorf("refused edits changed the list: %+v", l)
	}

	edit := url.Values{"name": {"Weekly digest"}, "opt_in": {"single"}, "visibility": {"private"}, "field_key": {"company", ""}, "field_label": {"Company", ""}}
	if resp := h.postForm(path, edit, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: got %d", resp.StatusCode)
	}
	if l, _ := h.st.List(ctx, id); l.Name != "Weekly digest" || l.Visibility != "private" || !reflect.DeepEqual(l.FormFields, []store.FormField{{Key: "company", Label: "Company"}}) {
		t.Errorf("edited list: got %+v", l)
	}

	if resp := h.postForm(path+"/delete", url.Values{}, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/lists" {
		t.Fatalf("delete: got %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := h.get(path); resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleted list page: got %d, want 404", resp.StatusCode)
	}
	if _, err := h.st.ContactByEmail(ctx, "m@example.com"); err != nil {
		t.Errorf("the list's member went with the list: %v", err)
	}
}

// audSegmentForm is the editor's form for a root group of conditions, each
// given as field, op, value (and attr for attribute conditions).
func audSegmentForm(name string, conds ...[4]string) url.Values {
	v := url.Values{"id": {"0"}, "name": {name}, "match.": {"all"}}
	for i, c := range conds {
		p := itoa(int64(i))
		v.Add("node", p)
		v.Set("kind."+p, "condition")
		v.Set("field."+p, c[0])
		v.Set("op."+p, c[1])
		v.Set("value."+p, c[2])
		v.Set("attr."+p, c[3])
	}
	return v
}

var audRuleRow = regexp.MustCompile(`<div class="rule-row[^"]*">`)

func TestSegmentEditor(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	ctx := context.Background()
	audSeedContact(t, h, "ann@example.com", []string{"vip"}, map[string]any{"seats": 10})
	audSeedContact(t, h, "bob@example.com", []string{"vip"}, map[string]any{"seats": 2})
	audSeedContact(t, h, "carl@example.org", nil, nil)

	if resp := h.get("/segments/new"); resp.StatusCode != http.StatusOK {
		t.Fatalf("new segment page: got %d", resp.StatusCode)
	}
	form := audSegmentForm("VIPs", [4]string{"tag", "eq", "vip", ""})
	form.Set("edit", "add-condition:")
	resp := h.postForm("/segments/editor", form, nil)
	page := body(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<html") || len(audRuleRow.FindAllString(page, -1)) != 2 {
		t.Fatalf("add condition without htmx: got %d with %d rows, want the whole page with 2", resp.StatusCode, len(audRuleRow.FindAllString(page, -1)))
	}
	resp = h.postForm("/segments/editor", form, map[string]string{"HX-Request": "true"})
	frag := body(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Vary"), "HX-Request") {
		t.Fatalf("add condition with htmx: got %d, Vary %q", resp.StatusCode, resp.Header.Get("Vary"))
	}
	if strings.Contains(frag, "<html") || !strings.HasPrefix(strings.TrimSpace(frag), `<div id="rule-editor">`) {
		t.Errorf("htmx answer: got %.200s, want the rule editor alone", frag)
	}
	if n := len(audRuleRow.FindAllString(frag, -1)); n != 2 || !strings.Contains(frag, `name="field.1"`) || !strings.Contains(frag, `value="vip"`) {
		t.Errorf("htmx answer: got %d rows, want the kept row and a new one", n)
	}
	if !regexp.MustCompile(`<span id="segment-count"[^>]*hx-swap-oob="true"`).MatchString(frag) {
		t.Errorf("htmx answer lacks an out-of-band count: %.2000s", frag)
	}

	// A comparison no index serves says so; one an index serves does not.
	form = audSegmentForm("VIPs", [4]string{"email", "contains", "example", ""}, [4]string{"attribute", "eq", "Paris", "city"})
	frag = body(t, h.postForm("/segments/editor", form, map[string]string{"HX-Request": "true"}))
	if n := strings.Count(frag, "Slower with many contacts"); n != 1 {
		t.Errorf("contains and an attribute equal: %d notes that a comparison reads every contact, want 1 (for contains)", n)
	}

	form = audSegmentForm("VIPs", [4]string{"tag", "eq", "vip", ""}, [4]string{"email", "contains", "example", ""})
	form.Set("edit", "remove:1")
	if frag := body(t, h.postForm("/segments/editor", form, map[string]string{"HX-Request": "true"})); len(audRuleRow.FindAllString(frag, -1)) != 1 {
		t.Errorf("remove: got %d rows, want 1", len(audRuleRow.FindAllString(frag, -1)))
	}

	counts := []struct {
		name  string
		conds [][4]string
		want  string
	}{
		{"tag", [][4]string{{"tag", "eq", "vip", ""}}, `<strong class="count-live">2</strong>`},
		{"tag and attribute", [][4]string{{"tag", "eq", "vip", ""}, {"attribute", "gt", "5", "seats"}}, `<strong class="count-live">1</strong>`},
		{"no conditions", nil, `<strong class="count-live">3</strong>`},
		{"unfinished row", [][4]string{{"email", "eq", "", ""}}, "Not counted yet: in row 1"},
	}
	for _, tc := range counts {
		resp := h.postForm("/segments/count", audSegmentForm("x", tc.conds...), map[string]string{"HX-Request": "true"})
		if frag := body(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(frag, tc.want) || strings.Contains(frag, "hx-swap-oob") {
			t.Errorf("count %s: got %d %q, want %q", tc.name, resp.StatusCode, frag, tc.want)
		}
	}

	resp = h.postForm("/segments", audSegmentForm("VIPs", [4]string{"tag", "eq", "vip", ""}, [4]string{"attribute", "lt", "5", "seats"}), nil)
	id := audIDFrom(t, resp)
	g, err := h.st.Segment(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	wantRules := `{"match":"all","conditions":[{"field":"tag","op":"eq","value":"vip"},{"field":"attributes.seats","op":"lt","value":5}]}`
	if got, _ := json.Marshal(g.Rules); string(got) != wantRules {
		t.Errorf("saved rules: got %s, want %s", got, wantRules)
	}
	if n, _ := h.st.CountContacts(ctx, store.ContactFilter{SegmentID: id}); n != 1 {
		t.Errorf("saved segment matches %d, want 1 (bob)", n)
	}
	page = body(t, h.get("/segments/"+itoa(id)))
	if !strings.Contains(page, "Segment VIPs saved.") || !strings.Contains(page, `value="seats"`) || !strings.Contains(page, `<strong class="count-live">1</strong>`) {
		t.Errorf("segment page after save lacks the flash, the rows or the count")
	}
	if got := body(t, h.get("/segments/"+itoa(id)+"/count")); got != "1" {
		t.Errorf("saved count: got %q, want 1", got)
	}
	if resp := h.postForm("/segments", audSegmentForm("vips", [4]string{"tag", "eq", "x", ""}), nil); resp.StatusCode != http.StatusConflict {
		t.Errorf("duplicate name: got %d, want 409", resp.StatusCode)
	}

	badRules := []struct {
		name  string
		conds [][4]string
		says  string
	}{
		{"bad attribute name", [][4]string{{"tag", "eq", "vip", ""}, {"attribute", "eq", "x", "Bad Key"}}, "attribute names are lower_snake_case"},
		{"letters for a number", [][4]string{{"attribute", "gt", "lots", "seats"}}, "gt needs a number"},
		{"empty value", [][4]string{{"email", "contains", "", ""}}, "contains needs a non-empty text value"},
	}
	for _, tc := range badRules {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.postForm("/segments", audSegmentForm("Broken", tc.conds...), nil)
			page := body(t, resp)
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("got %d, want 422", resp.StatusCode)
			}
			row := regexp.MustCompile(`(?s)<div class="rule-row has-error">.*?<p class="field-error">([^<]*)</p>`).FindStringSubmatch(page)
			if row == nil || !strings.Contains(row[1], tc.says) {
				t.Errorf("error beside the row: got %v, want %q", row, tc.says)
			}
		})
	}
	if gs, _ := h.st.Segments(ctx); len(gs) != 1 {
		t.Errorf("segments after refused saves: got %d, want 1", len(gs))
	}

	if resp := h.postForm("/segments/"+itoa(id)+"/delete", url.Values{}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: got %d", resp.StatusCode)
	}
	if resp := h.get("/segments/" + itoa(id)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleted segment: got %d, want 404", resp.StatusCode)
	}
}

func TestSuppressionsPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	ctx := context.Background()
	resp := h.postForm("/contacts/suppressions", url.Values{"value": {"Spam@Example.com"}, "reason": {"asked"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/contacts/suppressions" {
		t.Fatalf("add: got %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	h.postForm("/contacts/suppressions", url.Values{"value": {"@junk.test"}}, nil)
	page := body(t, h.get("/contacts/suppressions"))
	for _, want := range []string{"junk.test is suppressed.", "spam@example.com", "asked", "junk.test", "domain"} {
		if !strings.Contains(page, want) {
			t.Errorf("suppressions page lacks %q", want)
		}
	}
	if page := body(t, h.get("/contacts/suppressions?q=spam")); !strings.Contains(page, "spam@example.com") || strings.Contains(page, ">junk.test<") {
		t.Errorf("search: want only spam@example.com")
	}
	for _, tc := range []struct{ value, says string }{{"not valid", "Enter a domain like example.com."}, {"a@b", "valid email"}} {
		resp := h.postForm("/contacts/suppressions", url.Values{"value": {tc.value}, "reason": {"why"}}, nil)
		if page := body(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, tc.says) || !strings.Contains(page, `value="`+tc.value+`"`) {
			t.Errorf("%q: got %d, want 422 saying %q with the value kept", tc.value, resp.StatusCode, tc.says)
		}
	}
	sps, total, _ := h.st.Suppressions(ctx, "spam", store.Newest, 1, 10)
	if total != 1 {
		t.Fatalf("stored suppressions matching spam: got %d, want 1", total)
	}
	if resp := h.postForm("/contacts/suppressions/"+itoa(sps[0].ID)+"/delete", url.Values{}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove: got %d", resp.StatusCode)
	}
	if _, suppressed, _ := h.st.Suppressed(ctx, "spam@example.com"); suppressed {
		t.Error("the address is still suppressed after removal")
	}
	if resp := h.postForm("/contacts/suppressions/"+itoa(sps[0].ID)+"/delete", url.Values{}, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("remove again: got %d, want 404", resp.StatusCode)
	}
}

func TestSegmentSaveRefusesRowsTheEditorDoesNotOffer(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	for name, form := range map[string]url.Values{
		"unknown field": {"name": {"Bad"}, "match.": {"all"}, "node": {"0"}, "kind.0": {"condition"}, "field.0": {"bogus"}, "op.0": {"eq"}, "value.0": {"x"}},
		"unknown op":    {"name": {"Bad"}, "match.": {"all"}, "node": {"0"}, "kind.0": {"condition"}, "field.0": {"email"}, "op.0": {"zzz"}, "value.0": {"x"}},
		"bad match":     {"name": {"Bad"}, "match.": {"some"}},
	} {
		t.Run(name, func(t *testing.T) {
			resp := h.postForm("/segments", form, nil)
			if page := body(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "field-error") {
				t.Fatalf("got %d, want 422 with the error shown", resp.StatusCode)
			}
		})
	}
	if gs, _ := h.st.Segments(context.Background()); len(gs) != 0 {
		t.Fatalf("segments saved: got %d, want 0", len(gs))
	}
}
