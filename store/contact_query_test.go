package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// fixtureIDs returns the ids of segmentFixture's contacts by key.
func fixtureIDs(t *testing.T, s *Store) map[string]int64 {
	t.Helper()
	ids := map[string]int64{}
	for _, fc := range segmentFixture {
		c, err := s.ContactByEmail(context.Background(), fc.email)
		if err != nil {
			t.Fatalf("ContactByEmail(%s): %v", fc.email, err)
		}
		ids[contactKey(fc.email)] = c.ID
	}
	return ids
}

// pageKeys returns the keys of a page's contacts in page order.
func pageKeys(p ContactPage) string {
	keys := make([]string, len(p.Contacts))
	for i, c := range p.Contacts {
		keys[i] = contactKey(c.Email)
	}
	return strings.Join(keys, " ")
}

func TestContactFilters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, lists := openSegmentStore(t)
	ids := fixtureIDs(t, s)
	leeds, err := s.CreateSegment(ctx, SegmentInput{Name: ptr("Leeds"), Rules: &Rule{Match: "all", Conditions: []Rule{
		{Field: "attributes.city", Op: "eq", Value: []byte(`"leeds"`)}}}})
	if err != nil {
		t.Fatalf("CreateSegment: %v", err)
	}
	cases := []struct {
		name string
		f    ContactFilter
		want string
	}{
		{"nothing", ContactFilter{}, allFixtureKeys},
		{"blank q", ContactFilter{Q: "   "}, allFixtureKeys},
		{"q email prefix", ContactFilter{Q: "ann@"}, "ann"},
		{"q email prefix ignores case", ContactFilter{Q: "CAT@ex"}, "cat"},
		{"q matches only prefixes", ContactFilter{Q: "example.com"}, ""},
		{"q first name prefix", ContactFilter{Q: "ha"}, "hal"},
		{"q last name prefix", ContactFilter{Q: "evan"}, "eve"},
		{"q any of the three", ContactFilter{Q: "g"}, "gus_1 gusx1"},
		{"q underscore is literal", ContactFilter{Q: "gus_"}, "gus_1"},
		{"q percent is literal", ContactFilter{Q: "%"}, ""},
		{"q quote", ContactFilter{Q: "o'n"}, "jay"},
		{"q first and last", ContactFilter{Q: "Gus Gr"}, "gus_1 gusx1"},
		{"q first and last prefix", ContactFilter{Q: "gus gre"}, "gus_1"},
		{"q first and last, case", ContactFilter{Q: "KIM KENT"}, "kim"},
		{"q two words that do not match", ContactFilter{Q: "ann baker"}, ""},
		{"list, any membership status", ContactFilter{ListID: lists["news"]}, "ann bob cat gus_1 jay"},
		{"empty list", ContactFilter{ListID: lists["empty"]}, ""},
		{"tag", ContactFilter{Tag: "customer"}, "ann bob eve kim"},
		{"tag ignores case", ContactFilter{Tag: "VIP"}, "ann gus_1"},
		{"status", ContactFilter{Status: StatusBounced}, "dan"},
		{"segment", ContactFilter{SegmentID: leeds.ID}, "ann cat"},
		{"segment and status", ContactFilter{SegmentID: leeds.ID, Status: StatusActive}, "ann"},
		{"ids", ContactFilter{IDs: []int64{ids["ann"], ids["kim"], 9999}}, "ann kim"},
		{"list and tag", ContactFilter{ListID: lists["news"], Tag: "customer"}, "ann bob"},
		{"q and rule", ContactFilter{Q: "gus", Rule: &Rule{Match: "all", Conditions: []Rule{
			{Field: "list", Op: "eq", Value: []byte(fmt.Sprint(lists["deals"]))}}}}, "gusx1"},
		{"everything", ContactFilter{Q: "a", ListID: lists["news"], Tag: "customer", Status: StatusActive,
			SegmentID: leeds.ID, IDs: []int64{ids["ann"], ids["bob"]}}, "ann"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := s.Contacts(ctx, tc.f, 1, 100)
			if err != nil {
				t.Fatalf("Contacts: %v", err)
			}
			got := strings.Fields(pageKeys(p))
			sort.Strings(got)
			if strings.Join(got, " ") != sortKeys(tc.want) {
				t.Errorf("contacts: got %v, want %v", got, sortKeys(tc.want))
			}
			if p.Total != len(got) {
				t.Errorf("Total: got %v, want %v", p.Total, len(got))
			}
			if n, err := s.CountContacts(ctx, tc.f); err != nil || n != len(got) {
				t.Errorf("CountContacts: got %v (%v), want %v", n, err, len(got))
			}
		})
	}

	sameFields(t, func() error { _, err := s.Contacts(ctx, ContactFilter{Status: "gone"}, 1, 10); return err }(), "status")
	if _, err := s.Contacts(ctx, ContactFilter{SegmentID: 9999}, 1, 10); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing segment: got %v, want %v", err, ErrNotFound)
	}
	bad := &Rule{Match: "all", Conditions: []Rule{{Field: "zip", Op: "eq"}}}
	var re *RuleError
	if _, err := s.CountContacts(ctx, ContactFilter{Rule: bad}); !errors.As(err, &re) {
		t.Errorf("invalid rule: got %v, want a *RuleError", err)
	}
}

func TestContactsPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openSegmentStore(t)
	cases := []struct {
		page, perPage int
		want          string
	}{
		{1, 5, "kim jay ivy hal gusx1"},
		{2, 5, "gus_1 fay eve dan cat"},
		{3, 5, "bob ann"},
		{4, 5, ""},
		{1, 100, "kim jay ivy hal gusx1 gus_1 fay eve dan cat bob ann"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("page %d of %d", tc.page, tc.perPage), func(t *testing.T) {
			p, err := s.Contacts(ctx, ContactFilter{Order: Newest}, tc.page, tc.perPage)
			if err != nil {
				t.Fatalf("Contacts: %v", err)
			}
			if got := pageKeys(p); got != tc.want {
				t.Errorf("contacts, newest first: got %v, want %v", got, tc.want)
			}
			if p.Total != len(segmentFixture) {
				t.Errorf("Total: got %v, want %v", p.Total, len(segmentFixture))
			}
		})
	}
	p, err := s.Contacts(ctx, ContactFilter{Tag: "customer", Order: Newest}, 2, 3)
	if err != nil || pageKeys(p) != "ann" || p.Total != 4 {
		t.Errorf("filtered page 2: got %v of %v (%v), want ann of 4", pageKeys(p), p.Total, err)
	}
}

// insertContacts adds n contacts with plain SQL in one transaction, which is
// far quicker than CreateContact. Every hundredth is tagged "hundred", and
// those with numbers in onList are confirmed on list. It returns their ids
// in order.
func insertContacts(t *testing.T, s *Store, n int, list int64, onList func(i int) bool) []int64 {
	t.Helper()
	ctx := context.Background()
	ids := make([]int64, 0, n)
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var tag int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO tags (name) VALUES ('hundred') RETURNING id`).Scan(&tag); err != nil {
			return err
		}
		for i := 1; i <= n; i++ {
			var id int64
			err := tx.QueryRowContext(ctx, `INSERT INTO contacts (email, created_at, updated_at) VALUES (?, ?, ?) RETURNING id`,
				fmt.Sprintf("c%04d@example.com", i), testStart.Unix(), testStart.Unix()).Scan(&id)
			if err != nil {
				return err
			}
			ids = append(ids, id)
			if i%100 == 0 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO contact_tags (tag_id, contact_id) VALUES (?, ?)`, tag, id); err != nil {
					return err
				}
			}
			if onList(i) {
				if _, err := tx.ExecContext(ctx, `INSERT INTO list_members (list_id, contact_id, status, created_at, updated_at)
VALUES (?, ?, 'confirmed', ?, ?)`, list, id, testStart.Unix(), testStart.Unix()); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("insert contacts: %v", err)
	}
	return ids
}

func TestEachContact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	news := createTestList(t, s, "News", OptInSingle)
	const n = exportBatch + 150
	onList := func(i int) bool { return i >= 995 && i <= 1005 }
	ids := insertContacts(t, s, n, news.ID, onList)

	var seen []int64
	err := s.EachContact(ctx, ContactFilter{}, func(c Contact) error {
		i := len(seen) + 1
		seen = append(seen, c.ID)
		wantTags := []string{}
		if i%100 == 0 {
			wantTags = []string{"hundred"}
		}
		if !reflect.DeepEqual(c.Tags, wantTags) {
			t.Errorf("contact %d tags: got %v, want %v", i, c.Tags, wantTags)
		}
		wantLists := ""
		if onList(i) {
			wantLists = "News=confirmed"
		}
		if c.Memberships == nil || membershipList(c) != wantLists {
			t.Errorf("contact %d memberships: got %v, want %q", i, c.Memberships, wantLists)
		}
		if want := fmt.Sprintf("c%04d@example.com", i); c.Email != want {
			t.Errorf("contact %d email: got %v, want %v", i, c.Email, want)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("EachContact: %v", err)
	}
	if !reflect.DeepEqual(seen, ids) {
		t.Errorf("visited: got %d contacts, want each of %d once in id order", len(seen), len(ids))
	}

	// A filter that matches in both batches.
	var tagged []string
	err = s.EachContact(ctx, ContactFilter{Tag: "hundred"}, func(c Contact) error {
		tagged = append(tagged, c.Email[1:5])
		return nil
	})
	if want := "0100 0200 0300 0400 0500 0600 0700 0800 0900 1000 1100"; err != nil || strings.Join(tagged, " ") != want {
		t.Errorf("tagged: got %v (%v), want %v", tagged, err, want)
	}

	// fn's error stops the walk.
	stop := errors.New("stop")
	calls := 0
	err = s.EachContact(ctx, ContactFilter{}, func(Contact) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("EachContact with failing fn: got %v after %d calls, want %v after 1", err, calls, stop)
	}
	if err := s.EachContact(ctx, ContactFilter{Status: "gone"}, func(Contact) error { return nil }); err == nil {
		t.Errorf("EachContact with a bad filter: got nil, want an error")
	}
}
