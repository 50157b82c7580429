package store

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func cityRule(city string) *Rule {
	v, _ := json.Marshal(city)
	return &Rule{Match: "all", Conditions: []Rule{{Field: "attributes.city", Op: "eq", Value: v}}}
}

func TestCreateSegmentValidation(t *testing.T) {
	t.Parallel()
	badField := &Rule{Match: "all", Conditions: []Rule{{Field: "city", Op: "eq", Value: json.RawMessage(`"x"`)}}}
	badOp := &Rule{Match: "any", Conditions: []Rule{cityRule("x").Conditions[0], {Field: "tag", Op: "gt", Value: json.RawMessage(`1`)}}}
	cases := []struct {
		name string
		in   SegmentInput
		want []string
	}{
		{"no name", SegmentInput{Rules: cityRule("leeds")}, []string{"name"}},
		{"long name", SegmentInput{Name: ptr(string(make([]byte, 101))), Rules: cityRule("leeds")}, []string{"name"}},
		{"unknown field", SegmentInput{Name: ptr("S"), Rules: badField}, []string{"rules.conditions[0].field"}},
		{"unknown op", SegmentInput{Name: ptr("S"), Rules: badOp}, []string{"rules.conditions[1].op"}},
		{"top level not a group", SegmentInput{Name: ptr("S"), Rules: &Rule{Field: "email", Op: "is_set"}}, []string{"rules"}},
		{"name and rule", SegmentInput{Rules: badField}, []string{"name", "rules.conditions[0].field"}},
	}
	s, _ := openTestStore(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateSegment(context.Background(), tc.in)
			sameFields(t, err, tc.want...)
		})
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM segments`); got != 0 {
		t.Errorf("segments: got %v, want 0", got)
	}
}

func TestSegmentLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openSegmentStore(t)
	count := func(id int64) int {
		t.Helper()
		n, err := s.CountContacts(ctx, ContactFilter{SegmentID: id})
		if err != nil {
			t.Fatalf("CountContacts(segment %d): %v", id, err)
		}
		return n
	}

	everyone, err := s.CreateSegment(ctx, SegmentInput{Name: ptr("Everyone")})
	if err != nil {
		t.Fatalf("CreateSegment without rules: %v", err)
	}
	if got := count(everyone.ID); got != len(segmentFixture) {
		t.Errorf("segment without rules: got %v, want %v", got, len(segmentFixture))
	}
	leeds, err := s.CreateSegment(ctx, SegmentInput{Name: ptr(" Leeds "), Description: ptr("City"), Rules: cityRule("leeds")})
	if err != nil {
		t.Fatalf("CreateSegment: %v", err)
	}
	if leeds.Name != "Leeds" || !reflect.DeepEqual(leeds.Rules, *cityRule("leeds")) || !leeds.CreatedAt.Equal(testStart) {
		t.Errorf("CreateSegment: got %+v, want the name trimmed and the rules kept", leeds)
	}
	if got := count(leeds.ID); got != 2 {
		t.Errorf("Leeds: got %v, want 2", got)
	}
	if n, err := s.CountRule(ctx, leeds.Rules); err != nil || n != 2 {
		t.Errorf("CountRule: got %v (%v), want 2", n, err)
	}
	if _, err := s.CreateSegment(ctx, SegmentInput{Name: ptr("LEEDS")}); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate name: got %v, want %v", err, ErrConflict)
	}

	got, err := s.UpdateSegment(ctx, leeds.ID, SegmentInput{Rules: cityRule("london")})
	if err != nil {
		t.Fatalf("UpdateSegment: %v", err)
	}
	if got.Name != "Leeds" || got.Description != "City" || count(leeds.ID) != 1 {
		t.Errorf("UpdateSegment: got %+v matching %d, want the name kept and 1 match", got, count(leeds.ID))
	}
	_, err = s.UpdateSegment(ctx, leeds.ID, SegmentInput{Rules: &Rule{Match: "some"}})
	sameFields(t, err, "rules.match")
	if stored, _ := s.Segment(ctx, leeds.ID); !reflect.DeepEqual(stored.Rules, *cityRule("london")) {
		t.Errorf("rules after refused update: got %+v, want them unchanged", stored.Rules)
	}
	if _, err := s.UpdateSegment(ctx, everyone.ID, SegmentInput{Name: ptr("leeds")}); !errors.Is(err, ErrConflict) {
		t.Errorf("rename to a taken name: got %v, want %v", err, ErrConflict)
	}
	if _, err := s.UpdateSegment(ctx, 999, SegmentInput{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateSegment(999): got %v, want %v", err, ErrNotFound)
	}
	all, err := s.Segments(ctx)
	if err != nil || len(all) != 2 || all[0].Name != "Everyone" || all[1].Name != "Leeds" {
		t.Errorf("Segments: got %+v (%v), want Everyone and Leeds", all, err)
	}

	if err := s.DeleteSegment(ctx, leeds.ID); err != nil {
		t.Fatalf("DeleteSegment: %v", err)
	}
	if _, err := s.Segment(ctx, leeds.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Segment after delete: got %v, want %v", err, ErrNotFound)
	}
	if _, err := s.CountContacts(ctx, ContactFilter{SegmentID: leeds.ID}); !errors.Is(err, ErrNotFound) {
		t.Errorf("filter by deleted segment: got %v, want %v", err, ErrNotFound)
	}
	if err := s.DeleteSegment(ctx, leeds.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteSegment again: got %v, want %v", err, ErrNotFound)
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM contacts`); got != len(segmentFixture) {
		t.Errorf("contacts: got %v, want %v", got, len(segmentFixture))
	}
}
