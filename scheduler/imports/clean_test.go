package imports

import (
	"reflect"
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

// TestRowCleansTextAttributes: text attribute values, from a column or a
// JSON object, lose hidden characters as names do but keep their line
// breaks; numbers and true/false are kept as they are.
func TestRowCleansTextAttributes(t *testing.T) {
	t.Parallel()
	m := newMapper([]string{TargetEmail, "attribute:company", TargetAttributes})
	cases := []struct {
		name string
		rec  []string
		want map[string]any
	}{
		{"clean", []string{"ann@example.com", "Acme", `{"team":"Sales","seats":3}`}, map[string]any{"company": "Acme", "team": "Sales", "seats": 3.0}},
		{"right-to-left override in a column", []string{"ann@example.com", "Co\u202eX", ""}, map[string]any{"company": "CoX"}},
		{"hidden characters in JSON", []string{"ann@example.com", "", `{"team":"\u200bSa\u0000les\n","vip":true}`}, map[string]any{"team": "Sales", "vip": true}},
		{"emoji sequence kept", []string{"ann@example.com", "Dev 👩\u200d💻", ""}, map[string]any{"company": "Dev 👩\u200d💻"}},
		{"line breaks kept", []string{"ann@example.com", "Acme\nLtd\u202e", `{"notes":"two\nlines\u2028"}`}, map[string]any{"company": "Acme\nLtd", "notes": "two\nlines"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			row, reason, _ := m.row(tc.rec)
			if reason != "" || !reflect.DeepEqual(row.Attributes, tc.want) {
				t.Errorf("got %v (%q), want %v", row.Attributes, reason, tc.want)
			}
		})
	}
}
