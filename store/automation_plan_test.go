package store

import (
	"strings"
	"testing"
)

// TestDueQueriesUseTheirIndexes: what the automation engine looks for
// every second (due journeys, due dates, journeys waiting for an event)
// is found by index, never by reading every journey, date or contact.
func TestDueQueriesUseTheirIndexes(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	for _, tc := range []struct {
		q     string
		args  []any
		index string
	}{
		{dueJourneysSQL, []any{1, 0, 10}, "automation_journeys_due"},
		{dueDatesSQL, []any{1, 0, 10}, "automation_dates_due"},
		{`SELECT id FROM automation_journeys WHERE contact_id = ? AND status = 'active' AND waiting_for = ? AND lease_until IS NULL`, []any{1, "x"}, "automation_journeys_"},
	} {
		plan := strings.Join(queryPlan(t, s.r, tc.q, tc.args...), "; ")
		if !strings.Contains(plan, "INDEX "+tc.index) || strings.Contains(plan, "SCAN") {
			t.Errorf("%s\nplan %q, want a search of %s", tc.q, plan, tc.index)
		}
	}
}
