package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// contactsWhere returns the sorted keys of contacts matching f.
func contactsWhere(t *testing.T, s *Store, f ContactFilter) string {
	t.Helper()
	p, err := s.Contacts(context.Background(), f, 1, 1000)
	if err != nil {
		t.Fatalf("Contacts: %v", err)
	}
	return sortKeys(pageKeys(p))
}

// eventsWith returns the sorted keys of contacts with an event of kind and detail.
func eventsWith(t *testing.T, s *Store, kind, detail string) string {
	t.Helper()
	rows, err := s.r.Query(`SELECT c.email FROM contact_events e JOIN contacts c ON c.id = e.contact_id WHERE e.kind = ? AND e.detail = ?`, kind, detail)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var email string
		if err := rows.Scan(&email); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, contactKey(email))
	}
	return sortKeys(strings.Join(keys, " "))
}

func TestBulkContacts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	customersAndCat := &Rule{Match: "any", Conditions: []Rule{
		{Field: "tag", Op: "eq", Value: json.RawMessage(`"customer"`)},
		{Field: "email", Op: "eq", Value: json.RawMessage(`"cat@example.com"`)}}}
	cases := []struct {
		name  string
		f     ContactFilter
		a     func(lists map[string]int64) BulkAction
		want  int
		check func(t *testing.T, s *Store, lists map[string]int64)
	}{
		{"add_to_list keeps unsubscribes and existing members", ContactFilter{Rule: customersAndCat},
			func(l map[string]int64) BulkAction { return BulkAction{Kind: BulkAddToList, ListID: l["news"]} }, 2,
			func(t *testing.T, s *Store, l map[string]int64) {
				for status, want := range map[string]string{
					MemberConfirmed:    "ann eve gus_1 jay kim",
					MemberUnconfirmed:  "bob",
					MemberUnsubscribed: "cat",
				} {
					r := Rule{Match: "all", Conditions: []Rule{{Field: "list", Op: "eq", Value: json.RawMessage(jsonInt(l["news"])), Status: status}}}
					if got := contactsWhere(t, s, ContactFilter{Rule: &r}); got != want {
						t.Errorf("news %s: got %v, want %v", status, got, want)
					}
				}
				if got := eventsWith(t, s, EventSubscribed, "Added to news"); got != "eve kim" {
					t.Errorf("events: got %v, want eve kim", got)
				}
			}},
		{"remove_from_list keeps unsubscribes", ContactFilter{},
			func(l map[string]int64) BulkAction { return BulkAction{Kind: BulkRemoveFromList, ListID: l["news"]} }, 4,
			func(t *testing.T, s *Store, l map[string]int64) {
				if got := contactsWhere(t, s, ContactFilter{ListID: l["news"]}); got != "cat" {
					t.Errorf("news members: got %v, want only cat, who unsubscribed", got)
				}
				if got := contactsWhere(t, s, ContactFilter{ListID: l["deals"]}); got != "bob eve gus_1 gusx1" {
					t.Errorf("deals members: got %v, want them kept", got)
				}
				if got := eventsWith(t, s, EventRemoved, "Removed from news"); got != "ann bob gus_1 jay" {
					t.Errorf("events: got %v, want ann bob gus_1 jay", got)
				}
			}},
		{"tag counts only new tags", ContactFilter{Status: StatusActive},
			func(map[string]int64) BulkAction { return BulkAction{Kind: BulkTag, Tag: " VIP "} }, 5,
			func(t *testing.T, s *Store, _ map[string]int64) {
				if got := contactsWhere(t, s, ContactFilter{Tag: "vip"}); got != "ann bob gus_1 gusx1 hal ivy jay" {
					t.Errorf("tagged vip: got %v, want the active contacts", got)
				}
				if got := countRows(t, s, `SELECT COUNT(*) FROM tags WHERE name = 'vip'`); got != 1 {
					t.Errorf("vip tags: got %v, want 1", got)
				}
			}},
		{"untag", ContactFilter{},
			func(map[string]int64) BulkAction { return BulkAction{Kind: BulkUntag, Tag: "customer"} }, 4,
			func(t *testing.T, s *Store, _ map[string]int64) {
				if got := contactsWhere(t, s, ContactFilter{Tag: "customer"}); got != "" {
					t.Errorf("tagged customer: got %v, want none", got)
				}
				if got := contactsWhere(t, s, ContactFilter{Tag: "lead"}); got != "dan eve" {
					t.Errorf("tagged lead: got %v, want dan eve", got)
				}
			}},
		{"untag unknown tag", ContactFilter{},
			func(map[string]int64) BulkAction { return BulkAction{Kind: BulkUntag, Tag: "nope"} }, 0, nil},
		{"unsubscribe changes only active contacts", ContactFilter{},
			func(map[string]int64) BulkAction { return BulkAction{Kind: BulkUnsubscribe} }, 7,
			func(t *testing.T, s *Store, _ map[string]int64) {
				if got := contactsWhere(t, s, ContactFilter{Status: StatusUnsubscribed}); got != "ann bob cat gus_1 gusx1 hal ivy jay kim" {
					t.Errorf("unsubscribed: got %v", got)
				}
				if got := contactsWhere(t, s, ContactFilter{Status: StatusBounced}); got != "dan" {
					t.Errorf("bounced: got %v, want dan", got)
				}
				if got := eventsWith(t, s, EventUnsubscribed, "Unsubscribed from all mail by an administrator"); got != "ann bob gus_1 gusx1 hal ivy jay" {
					t.Errorf("events: got %v, want the formerly active contacts", got)
				}
			}},
		{"delete", ContactFilter{Tag: "lead"},
			func(map[string]int64) BulkAction { return BulkAction{Kind: BulkDelete} }, 2,
			func(t *testing.T, s *Store, l map[string]int64) {
				if got := contactsWhere(t, s, ContactFilter{}); got != "ann bob cat fay gus_1 gusx1 hal ivy jay kim" {
					t.Errorf("contacts left: got %v", got)
				}
				if got := countRows(t, s, `SELECT COUNT(*) FROM list_members WHERE contact_id NOT IN (SELECT id FROM contacts)`); got != 0 {
					t.Errorf("orphan memberships: got %v, want 0", got)
				}
			}},
	}
	covered := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, lists := openSegmentStore(t)
			a := tc.a(lists)
			covered[a.Kind] = true
			n, err := s.BulkContacts(ctx, tc.f, a)
			if err != nil {
				t.Fatalf("BulkContacts: %v", err)
			}
			if n != tc.want {
				t.Errorf("changed: got %v, want %v", n, tc.want)
			}
			if tc.check != nil {
				tc.check(t, s, lists)
			}
		})
	}
	for _, kind := range BulkActions {
		if !covered[kind] {
			t.Errorf("cases: got none for %s, want one", kind)
		}
	}
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestBulkContactsValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openSegmentStore(t)
	cases := []struct {
		name string
		f    ContactFilter
		a    BulkAction
		want []string
	}{
		{"unknown action", ContactFilter{}, BulkAction{Kind: "explode"}, []string{"action"}},
		{"add_to_list without a list", ContactFilter{}, BulkAction{Kind: BulkAddToList}, []string{"list_id"}},
		{"remove_from_list of a missing list", ContactFilter{}, BulkAction{Kind: BulkRemoveFromList, ListID: 9999}, []string{"list_id"}},
		{"tag without a tag", ContactFilter{}, BulkAction{Kind: BulkTag, Tag: "  "}, []string{"tag"}},
		{"untag with a long tag", ContactFilter{}, BulkAction{Kind: BulkUntag, Tag: strings.Repeat("t", maxTagLen+1)}, []string{"tag"}},
		{"bad filter", ContactFilter{Status: "gone"}, BulkAction{Kind: BulkDelete}, []string{"status"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := s.BulkContacts(ctx, tc.f, tc.a)
			sameFields(t, err, tc.want...)
			if n != 0 {
				t.Errorf("changed: got %v, want 0", n)
			}
		})
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM contacts`); got != len(segmentFixture) {
		t.Errorf("contacts: got %v, want %v", got, len(segmentFixture))
	}
}

// TestBulkContactsOnAFullDiskSaysHowFarItGot fills the disk after the first
// batch: the 5000 contacts already on the list need no write, the next
// 5000 do.
func TestBulkContactsOnAFullDiskSaysHowFarItGot(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	l := createTestList(t, s, "News", OptInSingle)
	insertContacts(t, s, 12000, l.ID, func(i int) bool { return i <= bulkBatch })
	if err := s.LimitGrowth(ctx, 0); err != nil {
		t.Fatal(err)
	}
	add := BulkAction{Kind: BulkAddToList, ListID: l.ID}
	n, err := s.BulkContacts(ctx, ContactFilter{}, add)
	var be *BulkError
	if !errors.As(err, &be) || !IsDiskFull(err) {
		t.Fatalf("bulk on a full disk: got %d, %v, want a BulkError from a full disk", n, err)
	}
	if be.Done != 5000 || be.Changed != 0 || be.Left != 7000 || n != 0 {
		t.Fatalf("progress: got done %d changed %d left %d (returned %d), want 5000 0 7000 (0)", be.Done, be.Changed, be.Left, n)
	}
	if want := "5000 of the 12000 matching contacts were done (0 changed) and the other 7000 are as they were"; !strings.Contains(be.Progress(), want) {
		t.Fatalf("progress: got %q, want it to say %q", be.Progress(), want)
	}
	if got, _ := s.CountContacts(ctx, ContactFilter{ListID: l.ID}); got != 5000 {
		t.Fatalf("members after the failed batch: got %d, want 5000", got)
	}
	if err := s.LiftGrowthLimit(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := s.BulkContacts(ctx, ContactFilter{}, add); n != 7000 || err != nil {
		t.Fatalf("run again: got %d, %v, want the other 7000 changed", n, err)
	}
}
