package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fixtureContact is one person in the segment fixture. Key is the local part
// of the email, lower-cased, and is how expectations name contacts.
type fixtureContact struct {
	email, first, last, status string
	created                    time.Time
	attrs                      map[string]any
	tags                       []string
	lists                      map[string]string // list name -> membership status
}

func day(s string) time.Time {
	t, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return t
}

// segmentFixture holds twelve contacts; the clock stands at testStart
// (2025-03-01 12:00 UTC) when it returns.
var segmentFixture = []fixtureContact{
	{"ann@example.com", "Ann", "Archer", StatusActive, day("2024-01-10"),
		map[string]any{"city": "Leeds", "age": 34, "vip": true, "signup": "2024-03-01", "code": "42", "discount": "50%"},
		[]string{"customer", "vip"}, map[string]string{"news": MemberConfirmed}},
	{"bob@example.org", "Bob", "Baker", StatusActive, day("2024-08-01"),
		map[string]any{"city": "london", "age": 19, "vip": false, "signup": "2024-06-15", "code": "7", "note": "a_b"},
		[]string{"customer"}, map[string]string{"news": MemberUnconfirmed, "deals": MemberUnconfirmed}},
	{"Cat@Example.COM", "Cat", "Cole", StatusUnsubscribed, day("2025-01-15"),
		map[string]any{"city": "LEEDS", "age": 50.5, "signup": "2025-02-20T10:00:00Z", "discount": "50 off"},
		nil, map[string]string{"news": MemberUnsubscribed}},
	{"dan@test.net", "Dan", "", StatusBounced, day("2025-02-01"),
		map[string]any{"code": "12abc"}, []string{"lead"}, nil},
	{"eve@example.com", "", "Evans", StatusComplained, day("2025-02-19T12:00:00Z"),
		map[string]any{"note": "axb", "plan": "free"},
		[]string{"lead", "customer"}, map[string]string{"deals": MemberConfirmed}},
	{"fay@sub.example.com", "Fay", "Fox", StatusBlocked, day("2025-02-24"),
		map[string]any{"age": "42", "city": ""}, nil, nil},
	{"gus_1@example.com", "Gus", "Green", StatusActive, day("2025-02-27"),
		map[string]any{"signup": "2025-02-27", "age": "old"},
		[]string{"Vip"}, map[string]string{"news": MemberConfirmed, "deals": MemberUnsubscribed}},
	{"gusx1@example.com", "Gus", "Gray", StatusActive, day("2025-02-28"),
		map[string]any{"signup": "not a date", "discount": "50"}, nil, map[string]string{"deals": MemberConfirmed}},
	{"hal@example.net", "Hal", "Hill", StatusActive, day("2025-03-01T11:00:00Z"),
		map[string]any{"signup": "2025-03-05"}, nil, nil},
	{"ivy@test.net", "", "", StatusActive, testStart, nil, nil, nil},
	{"jay@example.org", "Jay", "O'Neil", StatusActive, day("2023-06-01"),
		map[string]any{"plan": "PRO"}, nil, map[string]string{"news": MemberConfirmed}},
	{"kim@example.com", "kim", "kent", StatusUnsubscribed, day("2024-12-24"),
		map[string]any{"plan": "pro plus"}, []string{"customer"}, nil},
}

var allFixtureKeys = "ann bob cat dan eve fay gus_1 gusx1 hal ivy jay kim"

// openSegmentStore opens a store holding segmentFixture and the lists news
// (single opt-in), deals (double opt-in) and empty. It returns the list ids
// by name.
func openSegmentStore(t *testing.T) (*Store, map[string]int64) {
	t.Helper()
	ctx := context.Background()
	s, clk := openTestStore(t)
	lists := map[string]int64{}
	for _, l := range []struct{ name, optIn string }{{"news", OptInSingle}, {"deals", OptInDouble}, {"empty", OptInSingle}} {
		got, err := s.CreateList(ctx, ListInput{Name: ptr(l.name), OptIn: ptr(l.optIn)})
		if err != nil {
			t.Fatalf("CreateList(%s): %v", l.name, err)
		}
		lists[l.name] = got.ID
	}
	for _, fc := range segmentFixture {
		clk.t = fc.created
		email, first, last, status := fc.email, fc.first, fc.last, fc.status
		in := ContactInput{Email: &email, FirstName: &first, LastName: &last, Status: &status, Attributes: fc.attrs}
		if fc.tags != nil {
			tags := fc.tags
			in.Tags = &tags
		}
		c, _, err := s.CreateContact(ctx, in, false)
		if err != nil {
			t.Fatalf("CreateContact(%s): %v", fc.email, err)
		}
		for name, st := range fc.lists {
			if err := s.SetMembership(ctx, c.ID, lists[name], st); err != nil {
				t.Fatalf("SetMembership(%s, %s, %s): %v", fc.email, name, st, err)
			}
		}
	}
	clk.t = testStart
	return s, lists
}

// contactKey names a contact in expectations: its email's local part, lower-cased.
func contactKey(email string) string {
	return strings.ToLower(email[:strings.LastIndexByte(email, '@')])
}

// matchRule returns the sorted keys of the contacts r matches, checking that
// the page's Total and CountContacts agree with it.
func matchRule(t *testing.T, s *Store, r Rule) string {
	t.Helper()
	ctx := context.Background()
	p, err := s.Contacts(ctx, ContactFilter{Rule: &r}, 1, 100)
	if err != nil {
		t.Fatalf("Contacts: %v", err)
	}
	keys := make([]string, len(p.Contacts))
	for i, c := range p.Contacts {
		keys[i] = contactKey(c.Email)
	}
	sort.Strings(keys)
	if p.Total != len(keys) {
		t.Errorf("Total: got %v, want %v", p.Total, len(keys))
	}
	if n, err := s.CountContacts(ctx, ContactFilter{Rule: &r}); err != nil || n != len(keys) {
		t.Errorf("CountContacts: got %v (%v), want %v", n, err, len(keys))
	}
	return strings.Join(keys, " ")
}

// sortKeys sorts a space-separated list of contact keys.
func sortKeys(s string) string {
	f := strings.Fields(s)
	sort.Strings(f)
	return strings.Join(f, " ")
}

// all1 wraps condition bodies in a top-level "all" group.
func all1(conds ...string) string {
	for i, c := range conds {
		conds[i] = "{" + c + "}"
	}
	return `{"match": "all", "conditions": [` + strings.Join(conds, ", ") + `]}`
}

type segmentCase struct {
	name string
	rule string // JSON; $news, $deals and $empty stand for list ids
	want string // space-separated contact keys
}

var segmentCases = []segmentCase{
	// custom events: the fixture has none (TestEventSegmentConditions has)
	{"event at_least with none reported", all1(`"field": "event", "event": "order_placed", "op": "at_least", "value": 1`), ""},
	{"event not_since with none reported", all1(`"field": "event", "event": "login", "op": "not_since", "value": 30`), allFixtureKeys},
	// email
	{"email eq ignores case", all1(`"field": "email", "op": "eq", "value": "ANN@EXAMPLE.COM"`), "ann"},
	{"email eq stored mixed case", all1(`"field": "email", "op": "eq", "value": "cat@example.com"`), "cat"},
	{"email neq", all1(`"field": "email", "op": "neq", "value": "ann@example.com"`), "bob cat dan eve fay gus_1 gusx1 hal ivy jay kim"},
	{"email contains", all1(`"field": "email", "op": "contains", "value": "EXAMPLE.COM"`), "ann cat eve fay gus_1 gusx1 kim"},
	{"email contains underscore literally", all1(`"field": "email", "op": "contains", "value": "_"`), "gus_1"},
	{"email starts_with underscore literally", all1(`"field": "email", "op": "starts_with", "value": "gus_"`), "gus_1"},
	{"email starts_with", all1(`"field": "email", "op": "starts_with", "value": "GUS"`), "gus_1 gusx1"},
	{"email in", all1(`"field": "email", "op": "in", "value": ["dan@test.net", "IVY@test.net", "nobody@example.com"]`), "dan ivy"},
	{"email not_in", all1(`"field": "email", "op": "not_in", "value": ["dan@test.net", "ivy@test.net"]`), "ann bob cat eve fay gus_1 gusx1 hal jay kim"},
	{"email is_set", all1(`"field": "email", "op": "is_set"`), allFixtureKeys},
	{"email not_set", all1(`"field": "email", "op": "not_set", "value": null`), ""},

	// first_name
	{"first_name eq ignores case", all1(`"field": "first_name", "op": "eq", "value": "ann"`), "ann"},
	{"first_name neq keeps empty names", all1(`"field": "first_name", "op": "neq", "value": "Gus"`), "ann bob cat dan eve fay hal ivy jay kim"},
	{"first_name contains", all1(`"field": "first_name", "op": "contains", "value": "A"`), "ann cat dan fay hal jay"},
	{"first_name starts_with", all1(`"field": "first_name", "op": "starts_with", "value": "g"`), "gus_1 gusx1"},
	{"first_name in", all1(`"field": "first_name", "op": "in", "value": ["bob", "KIM"]`), "bob kim"},
	{"first_name not_in", all1(`"field": "first_name", "op": "not_in", "value": ["Ann", "Bob"]`), "cat dan eve fay gus_1 gusx1 hal ivy jay kim"},
	{"first_name is_set", all1(`"field": "first_name", "op": "is_set"`), "ann bob cat dan fay gus_1 gusx1 hal jay kim"},
	{"first_name not_set", all1(`"field": "first_name", "op": "not_set"`), "eve ivy"},

	// last_name
	{"last_name eq with quote", all1(`"field": "last_name", "op": "eq", "value": "o'neil"`), "jay"},
	{"last_name neq", all1(`"field": "last_name", "op": "neq", "value": "Archer"`), "bob cat dan eve fay gus_1 gusx1 hal ivy jay kim"},
	{"last_name contains", all1(`"field": "last_name", "op": "contains", "value": "e"`), "ann bob cat eve gus_1 jay kim"},
	{"last_name starts_with", all1(`"field": "last_name", "op": "starts_with", "value": "G"`), "gus_1 gusx1"},
	{"last_name in", all1(`"field": "last_name", "op": "in", "value": ["HILL", "fox"]`), "fay hal"},
	{"last_name not_in", all1(`"field": "last_name", "op": "not_in", "value": ["Hill", "Fox", ""]`), "ann bob cat eve gus_1 gusx1 jay kim"},
	{"last_name is_set", all1(`"field": "last_name", "op": "is_set"`), "ann bob cat eve fay gus_1 gusx1 hal jay kim"},
	{"last_name not_set", all1(`"field": "last_name", "op": "not_set"`), "dan ivy"},

	// status
	{"status eq", all1(`"field": "status", "op": "eq", "value": "active"`), "ann bob gus_1 gusx1 hal ivy jay"},
	{"status neq", all1(`"field": "status", "op": "neq", "value": "active"`), "cat dan eve fay kim"},
	{"status in", all1(`"field": "status", "op": "in", "value": ["bounced", "complained"]`), "dan eve"},
	{"status not_in", all1(`"field": "status", "op": "not_in", "value": ["active", "unsubscribed"]`), "dan eve fay"},

	// created_at; now is 2025-03-01 12:00 UTC
	{"created_at before date", all1(`"field": "created_at", "op": "before", "value": "2024-06-01"`), "ann jay"},
	{"created_at before is strict", all1(`"field": "created_at", "op": "before", "value": "2025-02-19T12:00:00Z"`), "ann bob cat dan jay kim"},
	{"created_at after is strict", all1(`"field": "created_at", "op": "after", "value": "2025-02-19T12:00:00Z"`), "fay gus_1 gusx1 hal ivy"},
	{"created_at within_days", all1(`"field": "created_at", "op": "within_days", "value": 10`), "eve fay gus_1 gusx1 hal ivy"},
	{"created_at within_days 1", all1(`"field": "created_at", "op": "within_days", "value": 1`), "hal ivy"},
	{"created_at within_days 0", all1(`"field": "created_at", "op": "within_days", "value": 0`), "ivy"},

	// text attributes
	{"attribute eq text ignores case", all1(`"field": "attributes.city", "op": "eq", "value": "leeds"`), "ann cat"},
	{"attribute neq matches missing", all1(`"field": "attributes.city", "op": "neq", "value": "leeds"`), "bob dan eve fay gus_1 gusx1 hal ivy jay kim"},
	{"attribute contains ignores case", all1(`"field": "attributes.city", "op": "contains", "value": "ON"`), "bob"},
	{"attribute starts_with", all1(`"field": "attributes.city", "op": "starts_with", "value": "le"`), "ann cat"},
	{"attribute in ignores case", all1(`"field": "attributes.city", "op": "in", "value": ["LEEDS", "paris"]`), "ann cat"},
	{"attribute not_in matches missing", all1(`"field": "attributes.city", "op": "not_in", "value": ["leeds"]`), "bob dan eve fay gus_1 gusx1 hal ivy jay kim"},
	{"attribute is_set ignores empty text", all1(`"field": "attributes.city", "op": "is_set"`), "ann bob cat"},
	{"attribute not_set matches empty text", all1(`"field": "attributes.city", "op": "not_set"`), "dan eve fay gus_1 gusx1 hal ivy jay kim"},
	{"attribute eq exact case", all1(`"field": "attributes.plan", "op": "eq", "value": "pro"`), "jay"},
	{"attribute contains", all1(`"field": "attributes.plan", "op": "contains", "value": "pro"`), "jay kim"},
	{"attribute starts_with space", all1(`"field": "attributes.plan", "op": "starts_with", "value": "PRO "`), "kim"},

	// LIKE wildcards in values match literally
	{"attribute contains percent", all1(`"field": "attributes.discount", "op": "contains", "value": "50%"`), "ann"},
	{"attribute eq percent", all1(`"field": "attributes.discount", "op": "eq", "value": "50%"`), "ann"},
	{"attribute starts_with digits", all1(`"field": "attributes.discount", "op": "starts_with", "value": "50"`), "ann cat gusx1"},
	{"attribute contains underscore", all1(`"field": "attributes.note", "op": "contains", "value": "a_b"`), "bob"},
	{"attribute starts_with underscore", all1(`"field": "attributes.note", "op": "starts_with", "value": "a_"`), "bob"},
	{"attribute contains backslash", all1(`"field": "attributes.note", "op": "contains", "value": "\\"`), ""},

	// number attributes, including the numeric strings "42" and "7"
	{"attribute gt", all1(`"field": "attributes.age", "op": "gt", "value": 30`), "ann cat fay"},
	{"attribute gt fraction", all1(`"field": "attributes.age", "op": "gt", "value": 50`), "cat"},
	{"attribute lt ignores text that is not a number", all1(`"field": "attributes.age", "op": "lt", "value": 30`), "bob"},
	{"attribute gt numeric text", all1(`"field": "attributes.code", "op": "gt", "value": 10`), "ann"},
	{"attribute gt ignores text that starts with a number", all1(`"field": "attributes.code", "op": "gt", "value": 0`), "ann bob"},
	{"attribute gt ignores booleans", all1(`"field": "attributes.vip", "op": "gt", "value": -1`), ""},
	{"attribute lt numeric text", all1(`"field": "attributes.code", "op": "lt", "value": 10`), "bob"},
	{"attribute eq number", all1(`"field": "attributes.age", "op": "eq", "value": 34`), "ann"},
	{"attribute eq numeric text", all1(`"field": "attributes.age", "op": "eq", "value": "42"`), "fay"},
	{"attribute in numbers", all1(`"field": "attributes.age", "op": "in", "value": [19, 34]`), "ann bob"},

	// boolean attributes
	{"attribute eq true", all1(`"field": "attributes.vip", "op": "eq", "value": true`), "ann"},
	{"attribute eq false", all1(`"field": "attributes.vip", "op": "eq", "value": false`), "bob"},
	{"attribute neq true", all1(`"field": "attributes.vip", "op": "neq", "value": true`), "bob cat dan eve fay gus_1 gusx1 hal ivy jay kim"},
	{"attribute is_set false", all1(`"field": "attributes.vip", "op": "is_set"`), "ann bob"},

	// date attributes; "not a date" never matches a date op
	{"attribute before", all1(`"field": "attributes.signup", "op": "before", "value": "2024-06-01"`), "ann"},
	{"attribute after", all1(`"field": "attributes.signup", "op": "after", "value": "2025-01-01"`), "cat gus_1 hal"},
	{"attribute within_days excludes the future", all1(`"field": "attributes.signup", "op": "within_days", "value": 10`), "cat gus_1"},
	{"attribute within_days long", all1(`"field": "attributes.signup", "op": "within_days", "value": 400`), "ann bob cat gus_1"},

	// a missing attribute matches neq, not_in and not_set only
	{"missing eq", all1(`"field": "attributes.zzz", "op": "eq", "value": "x"`), ""},
	{"missing neq", all1(`"field": "attributes.zzz", "op": "neq", "value": "x"`), allFixtureKeys},
	{"missing neq number", all1(`"field": "attributes.zzz", "op": "neq", "value": 0`), allFixtureKeys},
	{"missing contains", all1(`"field": "attributes.zzz", "op": "contains", "value": "x"`), ""},
	{"missing starts_with", all1(`"field": "attributes.zzz", "op": "starts_with", "value": "x"`), ""},
	{"missing gt", all1(`"field": "attributes.zzz", "op": "gt", "value": -1`), ""},
	{"missing lt", all1(`"field": "attributes.zzz", "op": "lt", "value": 1`), ""},
	{"missing before", all1(`"field": "attributes.zzz", "op": "before", "value": "2100-01-01"`), ""},
	{"missing after", all1(`"field": "attributes.zzz", "op": "after", "value": "1900-01-01"`), ""},
	{"missing within_days", all1(`"field": "attributes.zzz", "op": "within_days", "value": 36500`), ""},
	{"missing is_set", all1(`"field": "attributes.zzz", "op": "is_set"`), ""},
	{"missing not_set", all1(`"field": "attributes.zzz", "op": "not_set"`), allFixtureKeys},
	{"missing in", all1(`"field": "attributes.zzz", "op": "in", "value": ["x", 1, true]`), ""},
	{"missing not_in", all1(`"field": "attributes.zzz", "op": "not_in", "value": ["x", 1, true]`), allFixtureKeys},

	// lists; without a status, a list condition means subscribed (not unsubscribed)
	{"list eq", all1(`"field": "list", "op": "eq", "value": $news`), "ann bob gus_1 jay"},
	{"list neq", all1(`"field": "list", "op": "neq", "value": $news`), "cat dan eve fay gusx1 hal ivy kim"},
	{"list in", all1(`"field": "list", "op": "in", "value": [$news, $deals]`), "ann bob eve gus_1 gusx1 jay"},
	{"list not_in", all1(`"field": "list", "op": "not_in", "value": [$news, $deals]`), "cat dan fay hal ivy kim"},
	{"list eq empty list", all1(`"field": "list", "op": "eq", "value": $empty`), ""},
	{"list neq empty list", all1(`"field": "list", "op": "neq", "value": $empty`), allFixtureKeys},
	{"list eq missing list", all1(`"field": "list", "op": "eq", "value": 9999`), ""},
	{"list eq status unsubscribed", all1(`"field": "list", "op": "eq", "value": $news, "status": "unsubscribed"`), "cat"},
	{"list eq status confirmed", all1(`"field": "list", "op": "eq", "value": $news, "status": "confirmed"`), "ann gus_1 jay"},
	{"list eq status unconfirmed", all1(`"field": "list", "op": "eq", "value": $deals, "status": "unconfirmed"`), "bob"},
	{"list neq status confirmed", all1(`"field": "list", "op": "neq", "value": $news, "status": "confirmed"`), "bob cat dan eve fay gusx1 hal ivy kim"},
	{"list in status unsubscribed", all1(`"field": "list", "op": "in", "value": [$news, $deals], "status": "unsubscribed"`), "cat gus_1"},
	{"list not_in status confirmed", all1(`"field": "list", "op": "not_in", "value": [$news, $deals], "status": "confirmed"`), "bob cat dan fay hal ivy kim"},

	// tags, whose names ignore case
	{"tag eq", all1(`"field": "tag", "op": "eq", "value": "customer"`), "ann bob eve kim"},
	{"tag eq ignores case", all1(`"field": "tag", "op": "eq", "value": "VIP"`), "ann gus_1"},
	{"tag eq unknown", all1(`"field": "tag", "op": "eq", "value": "nope"`), ""},
	{"tag neq", all1(`"field": "tag", "op": "neq", "value": "customer"`), "cat dan fay gus_1 gusx1 hal ivy jay"},
	{"tag in", all1(`"field": "tag", "op": "in", "value": ["vip", "lead"]`), "ann dan eve gus_1"},
	{"tag not_in", all1(`"field": "tag", "op": "not_in", "value": ["vip", "lead"]`), "bob cat fay gusx1 hal ivy jay kim"},

	// groups
	{"empty all matches everyone", `{"match": "all", "conditions": []}`, allFixtureKeys},
	{"all without conditions matches everyone", `{"match": "all"}`, allFixtureKeys},
	{"empty any matches no one", `{"match": "any", "conditions": []}`, ""},
	{"all is and", all1(`"field": "tag", "op": "eq", "value": "customer"`, `"field": "status", "op": "eq", "value": "active"`), "ann bob"},
	{"any is or", `{"match": "any", "conditions": [
		{"field": "attributes.city", "op": "eq", "value": "london"},
		{"field": "status", "op": "eq", "value": "blocked"}]}`, "bob fay"},
	{"all inside any", `{"match": "any", "conditions": [
		{"match": "all", "conditions": [
			{"field": "attributes.city", "op": "eq", "value": "leeds"},
			{"field": "attributes.age", "op": "gt", "value": 40}]},
		{"field": "status", "op": "eq", "value": "bounced"}]}`, "cat dan"},
	{"any inside all", `{"match": "all", "conditions": [
		{"field": "tag", "op": "eq", "value": "customer"},
		{"match": "any", "conditions": [
			{"field": "list", "op": "eq", "value": $news},
			{"field": "list", "op": "eq", "value": $deals}]}]}`, "ann bob eve"},
	{"empty any inside all", `{"match": "all", "conditions": [
		{"field": "status", "op": "eq", "value": "active"},
		{"match": "any", "conditions": []}]}`, ""},
	{"empty all inside any", `{"match": "any", "conditions": [
		{"field": "status", "op": "eq", "value": "bounced"},
		{"match": "all", "conditions": []}]}`, allFixtureKeys},
	{"list status and arguments after it", all1(
		`"field": "list", "op": "in", "value": [$news, $deals], "status": "confirmed"`,
		`"field": "attributes.city", "op": "eq", "value": "leeds"`), "ann"},
}

func TestSegmentRules(t *testing.T) {
	t.Parallel()
	s, lists := openSegmentStore(t)
	ids := strings.NewReplacer(
		"$news", strconv.FormatInt(lists["news"], 10),
		"$deals", strconv.FormatInt(lists["deals"], 10),
		"$empty", strconv.FormatInt(lists["empty"], 10))
	runSegmentCases(t, s, ids, segmentCases)
}

// runSegmentCases checks each case's matches, its rule's ids replaced by ids.
func runSegmentCases(t *testing.T, s *Store, ids *strings.Replacer, cases []segmentCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseRule([]byte(ids.Replace(tc.rule)))
			if err != nil {
				t.Fatalf("ParseRule: %v", err)
			}
			if got, want := matchRule(t, s, r), sortKeys(tc.want); got != want {
				t.Errorf("matches: got %v, want %v", got, want)
			}
		})
	}
}

// TestSegmentCasesCoverEveryOp checks that segmentCases and engagementCases
// try every op of every field, so a new field or op cannot go untested.
func TestSegmentCasesCoverEveryOp(t *testing.T) {
	t.Parallel()
	covered := map[string]bool{}
	var walk func(r Rule)
	walk = func(r Rule) {
		for _, c := range r.Conditions {
			walk(c)
		}
		if r.Field == "" {
			return
		}
		field := r.Field
		if strings.HasPrefix(field, "attributes.") {
			field = "attributes"
		}
		if r.Field == "list" && r.Status != "" {
			field = "list+status"
		}
		covered[field+" "+r.Op] = true
	}
	for _, tc := range append(segmentCases, engagementCases...) {
		r, err := ParseRule([]byte(strings.NewReplacer("$news", "1", "$deals", "2", "$empty", "3", "$A", "4", "$B", "5").Replace(tc.rule)))
		if err != nil {
			t.Fatalf("%s: ParseRule: %v", tc.name, err)
		}
		walk(r)
	}
	want := map[string][]string{"attributes": attributeOps}
	for name, def := range ruleFields() {
		want[name] = def.ops
		if name == "list" {
			want["list+status"] = def.ops
		}
	}
	for field, ops := range want {
		for _, op := range ops {
			if !covered[field+" "+op] {
				t.Errorf("segmentCases: got no case for %s %s, want one", field, op)
			}
		}
	}
}

// nested wraps a condition in groups so that it sits at the given depth
// (the top-level group is depth 0).
func nested(depth int) Rule {
	r := Rule{Field: "status", Op: "eq", Value: json.RawMessage(`"active"`)}
	for i := 0; i < depth; i++ {
		r = Rule{Match: "all", Conditions: []Rule{r}}
	}
	return r
}

func manyConditions(n int) Rule {
	r := Rule{Match: "any", Conditions: []Rule{}}
	for i := 0; i < n; i++ {
		r.Conditions = append(r.Conditions, Rule{Field: "email", Op: "eq", Value: json.RawMessage(fmt.Sprintf(`"c%d@example.com"`, i))})
	}
	return r
}

func TestCompileRuleLimits(t *testing.T) {
	t.Parallel()
	s, _ := openSegmentStore(t)
	if got := matchRule(t, s, nested(maxRuleDepth)); got != "ann bob gus_1 gusx1 hal ivy jay" {
		t.Errorf("condition at depth %d: got %v, want the active contacts", maxRuleDepth, got)
	}
	if got := matchRule(t, s, manyConditions(maxRuleConditions)); got != "" {
		t.Errorf("%d conditions: got %v, want none", maxRuleConditions, got)
	}
	deep := "rules" + strings.Repeat(".conditions[0]", maxRuleDepth+1)
	cases := []struct {
		name string
		r    Rule
		path string
		msg  string
	}{
		{"condition too deep", nested(maxRuleDepth + 1), deep, "at most 6 deep"},
		{"group too deep", Rule{Match: "all", Conditions: []Rule{nested(maxRuleDepth + 1)}}, "rules.conditions[0]" + strings.Repeat(".conditions[0]", maxRuleDepth), "at most 6 deep"},
		{"too many conditions", manyConditions(maxRuleConditions + 1), fmt.Sprintf("rules.conditions[%d]", maxRuleConditions), "at most 200 conditions"},
		{"too many conditions across groups", Rule{Match: "all", Conditions: []Rule{manyConditions(150), manyConditions(51)}}, "rules.conditions[1].conditions[50]", "at most 200 conditions"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CompileRule(tc.r, testStart)
			checkRuleError(t, err, tc.path, tc.msg)
		})
	}
}

func checkRuleError(t *testing.T, err error, path, msg string) {
	t.Helper()
	var re *RuleError
	if !errors.As(err, &re) {
		t.Fatalf("error: got %v, want a *RuleError", err)
	}
	if re.Path != path {
		t.Errorf("Path: got %v, want %v", re.Path, path)
	}
	if !strings.Contains(re.Message, msg) {
		t.Errorf("Message: got %q, want it to contain %q", re.Message, msg)
	}
	if got, want := re.Error(), re.Path+": "+re.Message; got != want {
		t.Errorf("Error(): got %v, want %v", got, want)
	}
}

func TestCompileRuleErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, rule, path, msg string
	}{
		{"top level is a condition", `{"field": "email", "op": "eq", "value": "a@example.com"}`, "rules", "top level must be a group"},
		{"top level is empty", `{}`, "rules", "top level must be a group"},
		{"top level is null", `null`, "rules", "top level must be a group"},
		{"match missing", `{"conditions": []}`, "rules.match", `"all" or "any"`},
		{"match unknown", `{"match": "some", "conditions": []}`, "rules.match", `not "some"`},
		{"nested match unknown", `{"match": "all", "conditions": [{"match": "ALL", "conditions": []}]}`, "rules.conditions[0].match", `not "ALL"`},
		{"group with a field", `{"match": "all", "conditions": [], "field": "email"}`, "rules", "not field, op or value"},
		{"nested group with a value", `{"match": "all", "conditions": [{"match": "any", "value": 1}]}`, "rules.conditions[0]", "not field, op or value"},
		{"condition without field", all1(`"op": "eq", "value": "x"`), "rules.conditions[0].field", "needs a field"},
		{"unknown field", all1(`"field": "email", "op": "eq", "value": "a@example.com"`, `"field": "zip", "op": "eq", "value": "1"`), "rules.conditions[1].field", `unknown field "zip"`},
		{"field names are exact", all1(`"field": "Email", "op": "eq", "value": "x"`), "rules.conditions[0].field", `unknown field "Email"`},
		{"bad attribute key", all1(`"field": "attributes.Bad-Key", "op": "eq", "value": "x"`), "rules.conditions[0].field", `"Bad-Key"`},
		{"empty attribute key", all1(`"field": "attributes.", "op": "is_set"`), "rules.conditions[0].field", "lower_snake_case"},
		{"nested attribute key", all1(`"field": "attributes.a.b", "op": "is_set"`), "rules.conditions[0].field", "lower_snake_case"},
		{"unknown op for a field", all1(`"field": "email", "op": "eq", "value": "x"`, `"field": "created_at", "op": "eq", "value": "2024-01-01"`), "rules.conditions[1].op", "before, after, within_days"},
		{"gt on text field", all1(`"field": "email", "op": "gt", "value": "x"`), "rules.conditions[0].op", "field email takes the ops"},
		{"contains on status", all1(`"field": "status", "op": "contains", "value": "act"`), "rules.conditions[0].op", `not "contains"`},
		{"is_set on tag", all1(`"field": "tag", "op": "is_set"`), "rules.conditions[0].op", `not "is_set"`},
		{"unknown op on attribute", all1(`"field": "attributes.city", "op": "like", "value": "x"`), "rules.conditions[0].op", `not "like"`},
		{"missing op", all1(`"field": "email"`), "rules.conditions[0].op", `not ""`},
		{"within_days with text", all1(`"field": "created_at", "op": "within_days", "value": "30"`), "rules.conditions[0].value", "whole number of days"},
		{"within_days with fraction", all1(`"field": "attributes.signup", "op": "within_days", "value": 1.5`), "rules.conditions[0].value", "whole number of days"},
		{"within_days negative", all1(`"field": "created_at", "op": "within_days", "value": -1`), "rules.conditions[0].value", "whole number of days"},
		{"within_days too long", all1(`"field": "created_at", "op": "within_days", "value": 36501`), "rules.conditions[0].value", "whole number of days"},
		{"eq with object on attribute", all1(`"field": "attributes.city", "op": "eq", "value": {"a": 1}`), "rules.conditions[0].value", "text, number or true/false"},
		{"eq with list on attribute", all1(`"field": "attributes.city", "op": "eq", "value": ["a"]`), "rules.conditions[0].value", "text, number or true/false"},
		{"eq without value on attribute", all1(`"field": "attributes.city", "op": "eq"`), "rules.conditions[0].value", "needs a value"},
		{"eq with object on email", all1(`"field": "email", "op": "eq", "value": {"a": 1}`), "rules.conditions[0].value", "non-empty text"},
		{"eq with number on email", all1(`"field": "email", "op": "eq", "value": 3`), "rules.conditions[0].value", "non-empty text"},
		{"contains empty text", all1(`"field": "first_name", "op": "contains", "value": ""`), "rules.conditions[0].value", "non-empty text"},
		{"in with empty list", all1(`"field": "email", "op": "in", "value": []`), "rules.conditions[0].value", "non-empty list"},
		{"in with a scalar", all1(`"field": "tag", "op": "in", "value": "vip"`), "rules.conditions[0].value", "non-empty list"},
		{"not_in with object element", all1(`"field": "attributes.city", "op": "not_in", "value": ["a", {"b": 1}]`), "rules.conditions[0].value[1]", "text, a number or true/false"},
		{"in with null element", all1(`"field": "first_name", "op": "in", "value": [null]`), "rules.conditions[0].value[0]", "text, a number or true/false"},
		{"gt with text", all1(`"field": "attributes.age", "op": "gt", "value": "30"`), "rules.conditions[0].value", "needs a number"},
		{"before with bad date", all1(`"field": "created_at", "op": "before", "value": "yesterday"`), "rules.conditions[0].value", `"2024-05-31"`},
		{"after with number", all1(`"field": "attributes.signup", "op": "after", "value": 20240101`), "rules.conditions[0].value", `"2024-05-31"`},
		{"is_set with value", all1(`"field": "email", "op": "is_set", "value": "x"`), "rules.conditions[0].value", "takes no value"},
		{"not_set with false", all1(`"field": "attributes.vip", "op": "not_set", "value": false`), "rules.conditions[0].value", "takes no value"},
		{"status on a non-list condition", all1(`"field": "tag", "op": "eq", "value": "vip", "status": "confirmed"`), "rules.conditions[0].status", "only list conditions"},
		{"invalid list status", all1(`"field": "list", "op": "eq", "value": 1, "status": "active"`), "rules.conditions[0].status", "unconfirmed, confirmed, unsubscribed"},
		{"invalid contact status", all1(`"field": "status", "op": "eq", "value": "gone"`), "rules.conditions[0].value", "active, unsubscribed"},
		{"invalid contact status in list", all1(`"field": "status", "op": "in", "value": ["active", 3]`), "rules.conditions[0].value", "not 3"},
		{"list id zero", all1(`"field": "list", "op": "eq", "value": 0`), "rules.conditions[0].value", "list id"},
		{"list id as text", all1(`"field": "list", "op": "eq", "value": "news"`), "rules.conditions[0].value", "list id"},
		{"list in with names", all1(`"field": "list", "op": "in", "value": ["news"]`), "rules.conditions[0].value", "list ids"},
		{"list in empty", all1(`"field": "list", "op": "not_in", "value": []`), "rules.conditions[0].value", "list ids"},
		{"deep path", `{"match": "any", "conditions": [
			{"field": "email", "op": "is_set"},
			{"match": "all", "conditions": [
				{"field": "tag", "op": "eq", "value": "a"},
				{"field": "tag", "op": "eq", "value": "b"},
				{"field": "tag", "op": "within_days", "value": 3}]}]}`, "rules.conditions[1].conditions[2].op", "field tag takes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseRule([]byte(tc.rule))
			if err != nil {
				t.Fatalf("ParseRule: %v", err)
			}
			_, err = CompileRule(r, testStart)
			checkRuleError(t, err, tc.path, tc.msg)
		})
	}
}

func TestCompileRuleTooManyValues(t *testing.T) {
	t.Parallel()
	vs := make([]string, maxInValues+1)
	for i := range vs {
		vs[i] = strconv.Quote(fmt.Sprint("v", i))
	}
	doc := all1(`"field": "tag", "op": "in", "value": [` + strings.Join(vs, ",") + `]`)
	r, err := ParseRule([]byte(doc))
	if err != nil {
		t.Fatalf("ParseRule: %v", err)
	}
	_, err = CompileRule(r, testStart)
	checkRuleError(t, err, "rules.conditions[0].value", "at most 1000 values")
}

// TestRuleWithinSQLiteLimits checks that a rule that compiles also runs:
// SQLite refuses more than 32766 arguments and LIKE patterns over 50000 bytes.
func TestRuleWithinSQLiteLimits(t *testing.T) {
	t.Parallel()
	s, _ := openSegmentStore(t)
	vals := make([]string, maxInValues)
	for i := range vals {
		vals[i] = strconv.Itoa(i)
	}
	in := Rule{Field: "tag", Op: "in", Value: json.RawMessage("[" + strings.Join(vals, ",") + "]")}
	r := Rule{Match: "any"}
	for i := 0; i < maxRuleArgs/maxInValues; i++ {
		r.Conditions = append(r.Conditions, in)
	}
	if got := matchRule(t, s, r); got != "" {
		t.Errorf("%d values: got %v, want none", maxRuleArgs, got)
	}
	r.Conditions = append(r.Conditions, in)
	_, err := CompileRule(r, testStart)
	checkRuleError(t, err, fmt.Sprintf("rules.conditions[%d].value", maxRuleArgs/maxInValues), "at most 10000 values in all")

	long := func(n int) Rule {
		v, _ := json.Marshal(strings.Repeat("%", n))
		return Rule{Match: "all", Conditions: []Rule{{Field: "attributes.discount", Op: "contains", Value: v}}}
	}
	if got := matchRule(t, s, long(maxRuleText)); got != "" {
		t.Errorf("contains %d wildcards: got %v, want none", maxRuleText, got)
	}
	_, err = CompileRule(long(maxRuleText+1), testStart)
	checkRuleError(t, err, "rules.conditions[0].value", "at most 10000 characters")
}

func TestParseRuleErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, doc, msg string }{
		{"unknown key", `{"match": "all", "conditions": [], "limit": 3}`, `unknown field "limit"`},
		{"unknown key in a condition", all1(`"field": "email", "op": "eq", "valeu": "x"`), `unknown field "valeu"`},
		{"not JSON", `{"match": "all",`, "not a valid rule"},
		{"wrong type", `{"match": 1}`, "not a valid rule"},
		{"conditions not a list", `{"match": "all", "conditions": {}}`, "not a valid rule"},
		{"empty", ``, "not a valid rule"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRule([]byte(tc.doc))
			checkRuleError(t, err, "rules", tc.msg)
		})
	}
}

func TestRuleValuesAreOnlyArguments(t *testing.T) {
	t.Parallel()
	s, _ := openSegmentStore(t)
	const hostile = `x'); DROP TABLE contacts; --`
	q := strconv.Quote(hostile)
	doc := `{"match": "any", "conditions": [
		{"field": "email", "op": "eq", "value": ` + q + `},
		{"field": "first_name", "op": "contains", "value": ` + q + `},
		{"field": "last_name", "op": "in", "value": [` + q + `]},
		{"field": "attributes.city", "op": "starts_with", "value": ` + q + `},
		{"field": "attributes.city", "op": "not_in", "value": [` + q + `, "leeds"]},
		{"field": "tag", "op": "eq", "value": ` + q + `},
		{"field": "created_at", "op": "before", "value": ` + q + `}]}`
	r, err := ParseRule([]byte(doc))
	if err != nil {
		t.Fatalf("ParseRule: %v", err)
	}
	// created_at needs a date, so the hostile value is refused there...
	_, err = CompileRule(r, testStart)
	checkRuleError(t, err, "rules.conditions[6].value", "needs a date")
	// ...and everywhere else it is an argument.
	r.Conditions = r.Conditions[:6]
	c, err := CompileRule(r, testStart)
	if err != nil {
		t.Fatalf("CompileRule: %v", err)
	}
	for _, frag := range []string{"DROP", "x'", "--"} {
		if strings.Contains(c.Where, frag) {
			t.Errorf("Where: got %q, want it free of %q", c.Where, frag)
		}
	}
	if got, want := strings.Count(c.Where, "?"), len(c.Args); got != want {
		t.Errorf("placeholders: got %v, want %v (one per argument)", got, want)
	}
	// Everyone without city leeds matches the not_in; nobody matches the rest.
	if got, want := matchRule(t, s, r), "bob dan eve fay gus_1 gusx1 hal ivy jay kim"; got != want {
		t.Errorf("matches: got %v, want %v", got, want)
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM contacts`); got != len(segmentFixture) {
		t.Errorf("contacts after hostile rule: got %v, want %v", got, len(segmentFixture))
	}
}

func TestCompileRuleUsesNow(t *testing.T) {
	t.Parallel()
	r := Rule{Match: "all", Conditions: []Rule{{Field: "created_at", Op: "within_days", Value: json.RawMessage(`2`)}}}
	c, err := CompileRule(r, testStart)
	if err != nil {
		t.Fatalf("CompileRule: %v", err)
	}
	if len(c.Args) != 1 || c.Args[0] != testStart.AddDate(0, 0, -2).Unix() {
		t.Errorf("Args: got %v, want [%v]", c.Args, testStart.AddDate(0, 0, -2).Unix())
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2024-05-31", time.Date(2024, 5, 31, 0, 0, 0, 0, time.UTC), true},
		{"2024-05-31T09:00:00Z", time.Date(2024, 5, 31, 9, 0, 0, 0, time.UTC), true},
		{"2024-05-31T09:00:00+02:00", time.Date(2024, 5, 31, 7, 0, 0, 0, time.UTC), true},
		{"31/05/2024", time.Time{}, false},
		{"2024-02-30", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDate(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("error: got %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && !got.Equal(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
