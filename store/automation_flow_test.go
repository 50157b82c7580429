package store

import (
	"fmt"
	"testing"
	"time"
)

// outline is a flow as "id(kind)[branch|branch]" for comparing.
func outline(steps []Step) string {
	out := ""
	for i, st := range steps {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprintf("%d", st.ID)
		if len(st.Branches) > 0 {
			out += "["
			for b, br := range st.Branches {
				if b > 0 {
					out += "|"
				}
				out += outline(br)
			}
			out += "]"
		}
	}
	return out
}

// TestFlowEditing: steps go after a step, first in a branch or first in
// the flow; a condition inserted mid-path takes what followed into its
// Yes branch; removing a step takes its branches with it.
func TestFlowEditing(t *testing.T) {
	f := Flow{Steps: []Step{{ID: 1, Kind: StepAddTag, Tag: "a"}, {ID: 2, Kind: StepAddTag, Tag: "b"}}}
	steps := []struct {
		pos  Position
		st   Step
		want string
	}{
		{Position{}, Step{ID: 3, Kind: StepWait, Seconds: 60}, "3 1 2"},
		{Position{After: 1}, Step{ID: 4, Kind: StepCondition}, "3 1 4[2|]"},
		{Position{Parent: 4, Branch: 1}, Step{ID: 5, Kind: StepExit}, "3 1 4[2|5]"},
		{Position{Parent: 4, Branch: 0}, Step{ID: 6, Kind: StepSplit, Percents: []int{50, 25, 25}}, "3 1 4[6[2||]|5]"},
	}
	for _, s := range steps {
		if err := f.Insert(s.pos, s.st); err != nil {
			t.Fatal(err)
		}
		if got := outline(f.Steps); got != s.want {
			t.Fatalf("after inserting %d: got %s, want %s", s.st.ID, got, s.want)
		}
	}
	if err := f.Replace(6, Step{Kind: StepSplit, Percents: []int{50, 50}}); err != nil {
		t.Fatal(err)
	}
	if got := outline(f.Steps); got != "3 1 4[6[2|]|5]" {
		t.Fatalf("after dropping a share: got %s", got)
	}
	if err := f.Replace(6, Step{Kind: StepSplit, Percents: []int{40, 30, 30}}); err != nil {
		t.Fatal(err)
	}
	if err := f.Insert(Position{Parent: 6, Branch: 2}, Step{ID: 7, Kind: StepExit}); err != nil {
		t.Fatal(err)
	}
	if err := f.Replace(6, Step{Kind: StepSplit, Percents: []int{50, 50}}); err == nil {
		t.Error("dropped a share whose branch has a step")
	}
	gone, err := f.Remove(4)
	if err != nil {
		t.Fatal(err)
	}
	if got := outline(f.Steps); got != "3 1" || fmt.Sprint(gone) != "[4 6 2 7 5]" {
		t.Fatalf("after removing 4: got %s, removed %v", got, gone)
	}
}

// TestNextWeekdayAtAcrossDST: a wait until a weekday and time lands on
// that local time on either side of the clock changes of Paris and New
// York, and a time the spring change skips falls an hour later.
func TestNextWeekdayAtAcrossDST(t *testing.T) {
	for _, tc := range []struct {
		zone, now string
		days      []int
		at, want  string
	}{
		{"Europe/Paris", "2026-03-28T12:00:00+01:00", []int{0}, "09:00", "2026-03-29T09:00:00+02:00"},
		{"Europe/Paris", "2026-10-24T12:00:00+02:00", []int{0}, "09:00", "2026-10-25T09:00:00+01:00"},
		{"Europe/Paris", "2026-03-28T12:00:00+01:00", []int{0}, "02:30", "2026-03-29T03:30:00+02:00"},
		{"America/New_York", "2026-03-07T12:00:00-05:00", []int{0}, "09:00", "2026-03-08T09:00:00-04:00"},
		{"America/New_York", "2027-03-13T12:00:00-05:00", []int{0}, "02:30", "2027-03-14T03:30:00-04:00"},
		{"America/New_York", "2026-10-31T12:00:00-04:00", []int{0}, "01:30", "2026-11-01T01:30:00-04:00"},
		{"America/New_York", "2026-11-01T01:45:00-05:00", nil, "01:30", "2026-11-02T01:30:00-05:00"},
	} {
		loc, err := time.LoadLocation(tc.zone)
		if err != nil {
			t.Fatal(err)
		}
		now, _ := time.Parse(time.RFC3339, tc.now)
		want, _ := time.Parse(time.RFC3339, tc.want)
		if got := nextWeekdayAt(now, tc.days, tc.at, loc); !got.Equal(want) {
			t.Errorf("%s from %s until %v %s: got %s, want %s", tc.zone, tc.now, tc.days, tc.at, got.In(loc).Format(time.RFC3339), tc.want)
		}
	}
}
