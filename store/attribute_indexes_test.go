package store

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAttributeIndexes: each attribute condition a saved segment uses gets
// the index of its kind, which the condition then searches (EXPLAIN QUERY
// PLAN), with the same answers as without it: text in any case, numbers as
// numbers (text that is all a number too), dates as dates. An index no
// segment uses any more is dropped, and a value that is no date, like
// "now", is stored with a date index in place.
func TestAttributeIndexes(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	contacts := []map[string]any{
		{"city": "Paris", "age": 34, "joined": "2024-05-01"},
		{"city": "paris", "age": "41", "joined": "2024-06-15T09:00:00Z"},
		{"city": "Lyon", "age": 29.5, "joined": "2023-12-31"},
		{"city": "PARIS", "age": "old", "joined": "soon"},
		{"city": "Nice", "age": 52, "joined": 20240101},
		{"city": 42},
	}
	for i, attrs := range contacts {
		e := fmt.Sprintf("c%d@example.com", i)
		if _, _, err := s.CreateContact(ctx, ContactInput{Email: &e, Source: "test", Attributes: attrs}, false); err != nil {
			t.Fatal(err)
		}
	}
	s.now = func() time.Time { return time.Date(2024, 6, 20, 0, 0, 0, 0, time.UTC) }
	leaf := func(field, op, value string) Rule { return Rule{Field: field, Op: op, Value: json.RawMessage(value)} }
	cond := func(field, op, value string) Rule {
		return Rule{Match: "all", Conditions: []Rule{leaf(field, op, value)}}
	}
	cases := []struct {
		rule  Rule
		index []string
		want  int
	}{
		{cond("attributes.city", "eq", `"Paris"`), []string{"contacts_attr:text:city"}, 3},
		{cond("attributes.city", "eq", `42`), []string{"contacts_attr:number:city"}, 1},
		{cond("attributes.city", "in", `["paris", "nice", 42]`), []string{"contacts_attr:text:city"}, 5},
		{cond("attributes.age", "gt", `40`), []string{"contacts_attr:number:age"}, 2},
		{cond("attributes.age", "lt", `34`), []string{"contacts_attr:number:age"}, 1},
		{cond("attributes.age", "eq", `41`), []string{"contacts_attr:number:age"}, 1},
		{cond("attributes.joined", "before", `"2024-01-01"`), []string{"contacts_attr:date:joined"}, 1},
		{cond("attributes.joined", "after", `"2024-05-01"`), []string{"contacts_attr:date:joined"}, 1},
		{cond("attributes.joined", "within_days", `30`), []string{"contacts_attr:date:joined"}, 1},
		{Rule{Match: "any", Conditions: []Rule{leaf("attributes.city", "eq", `"lyon"`), leaf("attributes.age", "gt", `50`)}},
			[]string{"contacts_attr:text:city", "contacts_attr:number:age"}, 2},
		{Rule{Match: "all", Conditions: []Rule{leaf("attributes.age", "gt", `40`), leaf("attributes.city", "eq", `"paris"`)}},
			[]string{"contacts_attr:text:city,number:age"}, 1},
	}
	before := make([]int, len(cases))
	for i, c := range cases {
		n, err := s.CountRule(ctx, c.rule)
		if err != nil || n != c.want {
			t.Fatalf("%s without an index: %d %v, want %d", ruleJSON(c.rule), n, err, c.want)
		}
		before[i] = n
		name := fmt.Sprint("segment ", i)
		if _, err := s.CreateSegment(ctx, SegmentInput{Name: &name, Rules: &c.rule}); err != nil {
			t.Fatal(err)
		}
	}
	// An index of an earlier form, which Herald dropped.
	if _, err := s.w.ExecContext(ctx, `CREATE INDEX contacts_attr_city ON contacts(json_extract(attributes, '$.city') COLLATE NOCASE)`); err != nil {
		t.Fatal(err)
	}
	created, dropped, err := s.AttributeIndexes(ctx)
	slices.Sort(created)
	if fmt.Sprint(dropped) != "[contacts_attr_city]" {
		t.Errorf("dropped %v, want the index of the earlier form", dropped)
	}
	if err != nil || strings.Join(created, " ") != "contacts_attr:date:joined contacts_attr:number:age contacts_attr:number:city contacts_attr:text:city contacts_attr:text:city,number:age" {
		t.Fatalf("created %v (%v)", created, err)
	}
	for i, c := range cases {
		compiled, err := CompileRule(c.rule, s.now())
		if err != nil {
			t.Fatal(err)
		}
		plan := strings.Join(queryPlan(t, s.w, `SELECT count(*) FROM contacts c WHERE `+compiled.Where, compiled.Args...), "; ")
		for _, index := range c.index {
			if !regexp.MustCompile(`SEARCH c USING (COVERING )?INDEX ` + regexp.QuoteMeta(index) + ` \(`).MatchString(plan) {
				t.Errorf("%s: plan %q, want a search of %s", ruleJSON(c.rule), plan, index)
			}
		}
		if n, err := s.CountRule(ctx, c.rule); err != nil || n != before[i] {
			t.Errorf("%s with the index: %d %v, want %d", ruleJSON(c.rule), n, err, before[i])
		}
	}
	e := "clock@example.com"
	if _, _, err := s.CreateContact(ctx, ContactInput{Email: &e, Source: "test", Attributes: map[string]any{"joined": "now", "age": "now"}}, false); err != nil {
		t.Fatalf("a contact with joined \"now\": %v", err)
	}
	gs, _ := s.Segments(ctx)
	for _, g := range gs[1:] {
		if err := s.DeleteSegment(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
	}
	_, dropped, err = s.AttributeIndexes(ctx)
	slices.Sort(dropped)
	if err != nil || strings.Join(dropped, " ") != "contacts_attr:date:joined contacts_attr:number:age contacts_attr:number:city contacts_attr:text:city,number:age" {
		t.Errorf("dropped %v (%v), want age and joined", dropped, err)
	}
}

// TestAttributeIndexesAreBounded: however many attributes segments
// compare, Herald keeps at most maxAttributeIndexes indexes.
func TestAttributeIndexesAreBounded(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	rule := Rule{Match: "all"}
	for i := range 2 * maxAttributeIndexes {
		rule.Conditions = append(rule.Conditions, Rule{Field: fmt.Sprintf("attributes.a%d", i), Op: "eq", Value: json.RawMessage(`"x"`)})
	}
	if _, err := s.CreateSegment(ctx, SegmentInput{Name: ptr("Wide"), Rules: &rule}); err != nil {
		t.Fatal(err)
	}
	created, _, err := s.AttributeIndexes(ctx)
	if err != nil || len(created) != maxAttributeIndexes {
		t.Errorf("created %d indexes (%v), want %d", len(created), err, maxAttributeIndexes)
	}
}

func ruleJSON(r Rule) string {
	b, _ := json.Marshal(r)
	return string(b)
}

// TestSegmentPagesNewestFirst: a segment's pages, newest first, are the
// same whether its matches are among the newest contacts or the oldest.
func TestSegmentPagesNewestFirst(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	// More contacts than a page reads newest first; the first 60 and the
	// last 60 are in cohorts of their own.
	if _, err := s.w.ExecContext(ctx, `WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < 25000)
INSERT INTO contacts (email, attributes, created_at, updated_at)
SELECT 'p' || x || '@example.com', json_object('cohort', CASE WHEN x <= 60 THEN 'early' WHEN x > 24940 THEN 'late' ELSE 'middle' END), 0, 0 FROM i`); err != nil {
		t.Fatal(err)
	}
	for cohort, first := range map[string]int64{"early": 60, "late": 25000} {
		rule := Rule{Match: "all", Conditions: []Rule{{Field: "attributes.cohort", Op: "eq", Value: json.RawMessage(`"` + cohort + `"`)}}}
		for page, want := range [][2]int64{{first, first - 49}, {first - 50, first - 59}} {
			p, err := s.Contacts(ctx, ContactFilter{Rule: &rule, Order: Newest}, page+1, 50)
			if err != nil || p.Total != 60 || len(p.Contacts) == 0 {
				t.Fatalf("%s page %d: %d of %d (%v)", cohort, page+1, len(p.Contacts), p.Total, err)
			}
			if got := [2]int64{p.Contacts[0].ID, p.Contacts[len(p.Contacts)-1].ID}; got != want {
				t.Errorf("%s page %d: ids %v, want %v", cohort, page+1, got, want)
			}
		}
	}
}
