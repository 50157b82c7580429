package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCreateListDefaults(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	l, err := s.CreateList(context.Background(), ListInput{Name: ptr("  News "), Description: ptr(" Weekly ")})
	if err != nil {
		t.Fatalf("CreateList: %v", err)
	}
	want := List{ID: l.ID, Name: "News", Description: "Weekly", OptIn: OptInSingle, Visibility: VisibilityPrivate,
		FormFields: []FormField{}, CreatedAt: testStart, UpdatedAt: testStart}
	if !reflect.DeepEqual(l, want) {
		t.Errorf("CreateList: got %+v, want %+v", l, want)
	}
}

func TestCreateListValidation(t *testing.T) {
	t.Parallel()
	field := func(key, label string) FormField { return FormField{Key: key, Label: label} }
	tooMany := make([]FormField, 21)
	for i := range tooMany {
		tooMany[i] = field("f", "F")
	}
	fields := func(fs ...FormField) *[]FormField { return &fs }
	cases := []struct {
		name string
		in   ListInput
		want []string
	}{
		{"no name", ListInput{}, []string{"name"}},
		{"blank name", ListInput{Name: ptr("   ")}, []string{"name"}},
		{"long name", ListInput{Name: ptr(strings.Repeat("n", 101))}, []string{"name"}},
		{"name with a line break", ListInput{Name: ptr("a\nb")}, []string{"name"}},
		{"long description", ListInput{Name: ptr("L"), Description: ptr(strings.Repeat("d", 2001))}, []string{"description"}},
		{"bad opt_in", ListInput{Name: ptr("L"), OptIn: ptr("triple")}, []string{"opt_in"}},
		{"bad visibility", ListInput{Name: ptr("L"), Visibility: ptr("hidden")}, []string{"visibility"}},
		{"form field key not snake case", ListInput{Name: ptr("L"), FormFields: fields(field("Bad Key", "City"))}, []string{"form_fields"}},
		{"form field without label", ListInput{Name: ptr("L"), FormFields: fields(field("city", " "))}, []string{"form_fields"}},
		{"form field label with a line break", ListInput{Name: ptr("L"), FormFields: fields(field("city", "a\nb"))}, []string{"form_fields"}},
		{"too many form fields", ListInput{Name: ptr("L"), FormFields: &tooMany}, []string{"form_fields"}},
		{"several", ListInput{OptIn: ptr(""), Visibility: ptr("")}, []string{"name", "opt_in", "visibility"}},
	}
	s, _ := openTestStore(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateList(context.Background(), tc.in)
			sameFields(t, err, tc.want...)
		})
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM lists`); got != 0 {
		t.Errorf("lists: got %v, want 0", got)
	}
}

func TestListStoresAndUpdates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := openTestStore(t)
	fields := []FormField{{Key: "city", Label: "City", Required: true}, {Key: "company", Label: "Company"}}
	l, err := s.CreateList(ctx, ListInput{Name: ptr("News"), OptIn: ptr(OptInDouble), Visibility: ptr(VisibilityPublic), FormFields: &fields})
	if err != nil {
		t.Fatalf("CreateList: %v", err)
	}
	if l.OptIn != OptInDouble || l.Visibility != VisibilityPublic || !reflect.DeepEqual(l.FormFields, fields) {
		t.Errorf("CreateList: got %+v, want double, public and %v", l, fields)
	}
	if _, err := s.CreateList(ctx, ListInput{Name: ptr("NEWS")}); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate name: got %v, want %v", err, ErrConflict)
	}
	other := createTestList(t, s, "Deals", OptInSingle)

	clk.advance(time.Minute)
	got, err := s.UpdateList(ctx, l.ID, ListInput{Description: ptr("Weekly"), FormFields: &[]FormField{}})
	if err != nil {
		t.Fatalf("UpdateList: %v", err)
	}
	if got.Name != "News" || got.Description != "Weekly" || got.OptIn != OptInDouble || len(got.FormFields) != 0 || !got.UpdatedAt.Equal(clk.now()) {
		t.Errorf("UpdateList: got %+v, want the name and opt-in kept, the description set, no fields, updated now", got)
	}
	if _, err := s.UpdateList(ctx, other.ID, ListInput{Name: ptr("news")}); !errors.Is(err, ErrConflict) {
		t.Errorf("rename to a taken name: got %v, want %v", err, ErrConflict)
	}
	_, err = s.UpdateList(ctx, other.ID, ListInput{OptIn: ptr("maybe")})
	sameFields(t, err, "opt_in")
	if _, err := s.UpdateList(ctx, 999, ListInput{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateList(999): got %v, want %v", err, ErrNotFound)
	}
	all, err := s.Lists(ctx)
	if err != nil || len(all) != 2 || all[0].Name != "Deals" || all[1].Name != "News" {
		t.Errorf("Lists: got %+v (%v), want Deals and News by name", all, err)
	}
	if _, err := s.List(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("List(999): got %v, want %v", err, ErrNotFound)
	}
}

func TestListCountsAndDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, lists := openSegmentStore(t)
	cases := []struct {
		name                                 string
		confirmed, unconfirmed, unsubscribed int
	}{
		{"news", 3, 1, 1},
		{"deals", 2, 1, 1},
		{"empty", 0, 0, 0},
	}
	for _, tc := range cases {
		l, err := s.List(ctx, lists[tc.name])
		if err != nil {
			t.Fatalf("List(%s): %v", tc.name, err)
		}
		got := [3]int{l.Confirmed, l.Unconfirmed, l.Unsubscribed}
		if want := [3]int{tc.confirmed, tc.unconfirmed, tc.unsubscribed}; got != want {
			t.Errorf("%s confirmed, unconfirmed, unsubscribed: got %v, want %v", tc.name, got, want)
		}
	}

	if err := s.DeleteList(ctx, lists["news"]); err != nil {
		t.Fatalf("DeleteList: %v", err)
	}
	if _, err := s.List(ctx, lists["news"]); !errors.Is(err, ErrNotFound) {
		t.Errorf("List after delete: got %v, want %v", err, ErrNotFound)
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM contacts`); got != len(segmentFixture) {
		t.Errorf("contacts after DeleteList: got %v, want %v", got, len(segmentFixture))
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM list_members WHERE list_id = ?`, lists["news"]); got != 0 {
		t.Errorf("memberships of deleted list: got %v, want 0", got)
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM list_members WHERE list_id = ?`, lists["deals"]); got != 4 {
		t.Errorf("memberships of other list: got %v, want 4", got)
	}
	if err := s.DeleteList(ctx, lists["news"]); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteList again: got %v, want %v", err, ErrNotFound)
	}
}
