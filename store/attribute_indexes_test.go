package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestAttributeIndexes: an attribute a saved segment compares gets an
// index, which its condition then searches (EXPLAIN QUERY PLAN), with the
// same answers as without it, any case; one no segment uses any more
// loses it.
func TestAttributeIndexes(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	for i, city := range []string{"Paris", "paris", "Lyon", "PARIS", "Nice"} {
		e := fmt.Sprintf("c%d@example.com", i)
		if _, _, err := s.CreateContact(ctx, ContactInput{Email: &e, Source: "test", Attributes: map[string]any{"city": city}}, false); err != nil {
			t.Fatal(err)
		}
	}
	rule := Rule{Match: "all", Conditions: []Rule{{Field: "attributes.city", Op: "eq", Value: json.RawMessage(`"Paris"`)}}}
	before, err := s.CountRule(ctx, rule)
	if err != nil || before != 3 {
		t.Fatalf("count before: %d %v, want 3", before, err)
	}
	name := "Parisians"
	g, err := s.CreateSegment(ctx, SegmentInput{Name: &name, Rules: &rule})
	if err != nil {
		t.Fatal(err)
	}
	created, _, err := s.AttributeIndexes(ctx)
	if err != nil || fmt.Sprint(created) != "[city]" {
		t.Fatalf("created %v (%v), want [city]", created, err)
	}
	c, err := CompileRule(rule, s.now())
	if err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(queryPlan(t, s.w, `SELECT count(*) FROM contacts c WHERE `+c.Where, c.Args...), "; ")
	if !strings.Contains(plan, "INDEX contacts_attr_city") {
		t.Errorf("plan %q, want a search of contacts_attr_city", plan)
	}
	for _, r := range []Rule{rule, {Match: "all", Conditions: []Rule{{Field: "attributes.city", Op: "in", Value: json.RawMessage(`["paris", "nice"]`)}}}} {
		want := map[string]int{"eq": 3, "in": 4}[r.Conditions[0].Op]
		if n, err := s.CountRule(ctx, r); err != nil || n != want {
			t.Errorf("%s with the index: %d %v, want %d", r.Conditions[0].Op, n, err, want)
		}
	}
	if err := s.DeleteSegment(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if _, dropped, err := s.AttributeIndexes(ctx); err != nil || fmt.Sprint(dropped) != "[city]" {
		t.Errorf("dropped %v (%v), want [city]", dropped, err)
	}
}
