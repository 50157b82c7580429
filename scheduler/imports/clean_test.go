package imports

import (
	"strings"
	"testing"
)

// TestRowCleansNamesAndRefusesHiddenAddresses: names lose the invisible
// characters spreadsheets leave in them, while an address holding one is
// refused, since cleaning it could deliver to someone else.
func TestRowCleansNamesAndRefusesHiddenAddresses(t *testing.T) {
	t.Parallel()
	m := newMapper([]string{TargetEmail, TargetFirstName, TargetLastName})
	cases := []struct {
		name               string
		rec                []string
		email, first, last string
		reason             string
	}{
		{"clean", []string{"ann@example.com", "Ann", "Lee"}, "ann@example.com", "Ann", "Lee", ""},
		{"hidden characters in names", []string{"ann@example.com", "\ufeffAnn", "Le\u200be\u202e"}, "ann@example.com", "Ann", "Lee", ""},
		{"emoji sequence kept", []string{"ann@example.com", "Ann 👩\u200d💻", "Lee"}, "ann@example.com", "Ann 👩\u200d💻", "Lee", ""},
		{"two-line name", []string{"ann@example.com", "Ann\nMarie", "Lee"}, "ann@example.com", "Ann Marie", "Lee", ""},
		{"international domain", []string{"Ann@Bücher.de", "Ann", "Lee"}, "ann@xn--bcher-kva.de", "Ann", "Lee", ""},
		{"hidden character in the address", []string{"ann\u200b@example.com", "Ann", "Lee"}, "", "", "", "not a valid email address"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			row, reason, _ := m.row(tc.rec)
			if tc.reason != "" {
				if !strings.Contains(reason, tc.reason) {
					t.Errorf("reason: got %q, want %q", reason, tc.reason)
				}
				return
			}
			if reason != "" || row.Email != tc.email || row.FirstName != tc.first || row.LastName != tc.last {
				t.Errorf("got %q %q %q (%q), want %q %q %q", row.Email, row.FirstName, row.LastName, reason, tc.email, tc.first, tc.last)
			}
		})
	}
}
