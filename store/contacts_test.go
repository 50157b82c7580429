package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func createContact(t *testing.T, s *Store, in ContactInput) Contact {
	t.Helper()
	c, created, err := s.CreateContact(context.Background(), in, false)
	if err != nil {
		t.Fatalf("CreateContact(%v): %v", *in.Email, err)
	}
	if !created {
		t.Fatalf("CreateContact(%v) created: got false, want true", *in.Email)
	}
	return c
}

func createTestList(t *testing.T, s *Store, name, optIn string) List {
	t.Helper()
	l, err := s.CreateList(context.Background(), ListInput{Name: ptr(name), OptIn: ptr(optIn)})
	if err != nil {
		t.Fatalf("CreateList(%s): %v", name, err)
	}
	return l
}

// timeline returns a contact's events oldest first, as "kind: detail".
func timeline(t *testing.T, s *Store, id int64) []string {
	t.Helper()
	evs, err := s.ContactEvents(context.Background(), id, 100)
	if err != nil {
		t.Fatalf("ContactEvents(%d): %v", id, err)
	}
	out := make([]string, len(evs))
	for i, e := range evs {
		out[len(evs)-1-i] = e.Kind + ": " + e.Detail
	}
	return out
}

// memberships returns a contact's lists as "name=status", in name order.
func membershipList(c Contact) string {
	parts := make([]string, len(c.Memberships))
	for i, m := range c.Memberships {
		parts[i] = m.ListName + "=" + m.Status
	}
	return strings.Join(parts, " ")
}

func TestCreateContactValidation(t *testing.T) {
	t.Parallel()
	many := map[string]any{}
	for i := 0; i <= MaxAttributes; i++ {
		many[fmt.Sprintf("k%d", i)] = i
	}
	manyTags := make([]string, maxTags+1)
	for i := range manyTags {
		manyTags[i] = fmt.Sprint("t", i)
	}
	tags := func(ts ...string) *[]string { return &ts }
	cases := []struct {
		name string
		in   ContactInput
		want []string
	}{
		{"no email", ContactInput{FirstName: ptr("Ann")}, []string{"email"}},
		{"blank email", ContactInput{Email: ptr("  ")}, []string{"email"}},
		{"bad email", ContactInput{Email: ptr("ann.example.com")}, []string{"email"}},
		{"email without a dot in the domain", ContactInput{Email: ptr("ann@example")}, []string{"email"}},
		{"email with a display name", ContactInput{Email: ptr("Ann <ann@example.com>")}, []string{"email"}},
		{"long first name", ContactInput{Email: ptr("a@example.com"), FirstName: ptr(strings.Repeat("a", maxNameLen+1))}, []string{"first_name"}},
		{"last name with a line break", ContactInput{Email: ptr("a@example.com"), LastName: ptr("Smith\nBcc: x")}, []string{"last_name"}},
		{"attribute key with capitals", ContactInput{Email: ptr("a@example.com"), Attributes: map[string]any{"City": "Leeds"}}, []string{"attributes"}},
		{"attribute key with a dash", ContactInput{Email: ptr("a@example.com"), Attributes: map[string]any{"bad-key": "x"}}, []string{"attributes"}},
		{"attribute key too long", ContactInput{Email: ptr("a@example.com"), Attributes: map[string]any{strings.Repeat("k", 65): "x"}}, []string{"attributes"}},
		{"nested attribute object", ContactInput{Email: ptr("a@example.com"), Attributes: map[string]any{"address": map[string]any{"city": "Leeds"}}}, []string{"attributes"}},
		{"nested attribute list", ContactInput{Email: ptr("a@example.com"), Attributes: map[string]any{"kids": []any{"a", "b"}}}, []string{"attributes"}},
		{"attribute not a number", ContactInput{Email: ptr("a@example.com"), Attributes: map[string]any{"score": math.NaN()}}, []string{"attributes"}},
		{"attribute text too long", ContactInput{Email: ptr("a@example.com"), Attributes: map[string]any{"bio": strings.Repeat("x", maxAttributeText+1)}}, []string{"attributes"}},
		{"too many attributes", ContactInput{Email: ptr("a@example.com"), Attributes: many}, []string{"attributes"}},
		{"bad status", ContactInput{Email: ptr("a@example.com"), Status: ptr("gone")}, []string{"status"}},
		{"bad list status", ContactInput{Email: ptr("a@example.com"), ListStatus: "maybe"}, []string{"list_status"}},
		{"empty tag", ContactInput{Email: ptr("a@example.com"), Tags: tags("ok", " ")}, []string{"tags"}},
		{"tag with a line break", ContactInput{Email: ptr("a@example.com"), Tags: tags("a\nb")}, []string{"tags"}},
		{"long tag", ContactInput{Email: ptr("a@example.com"), Tags: tags(strings.Repeat("t", maxTagLen+1))}, []string{"tags"}},
		{"too many tags", ContactInput{Email: ptr("a@example.com"), Tags: &manyTags}, []string{"tags"}},
		{"several at once", ContactInput{Email: ptr("nope"), Status: ptr("gone"), FirstName: ptr("a\tb")}, []string{"email", "first_name", "status"}},
	}
	s, _ := openTestStore(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.CreateContact(context.Background(), tc.in, false)
			sameFields(t, err, tc.want...)
		})
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM contacts`); got != 0 {
		t.Errorf("contacts after invalid creates: got %v, want 0", got)
	}
}

func TestCreateContactStores(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	consentAt := testStart.Add(-time.Hour)
	c := createContact(t, s, ContactInput{
		Email: ptr("  Ann@Example.com "), FirstName: ptr(" Ann "), LastName: ptr("Archer"),
		Attributes: map[string]any{"city": "Leeds", "age": 34, "vip": true, "gone": nil},
		Tags:       &[]string{"b", " a ", "A", "b"},
		Source:     "api",
		Consent:    &Consent{IP: "192.0.2.1", At: consentAt, Form: "footer"},
	})
	got, err := s.Contact(ctx, c.ID)
	if err != nil {
		t.Fatalf("Contact: %v", err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("Contact: got %+v, want what CreateContact returned, %+v", got, c)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Email", c.Email, "ann@example.com"},
		{"FirstName", c.FirstName, "Ann"},
		{"Name", c.Name(), "Ann Archer"},
		{"Status", c.Status, StatusActive},
		{"Source", c.Source, "api"},
		{"Attributes", c.Attributes, map[string]any{"city": "Leeds", "age": 34.0, "vip": true}},
		{"Tags", c.Tags, []string{"a", "b"}},
		{"Memberships", c.Memberships, []Membership{}},
		{"Consent", c.Consent, Consent{IP: "192.0.2.1", At: consentAt, Form: "footer"}},
		{"CreatedAt", c.CreatedAt, testStart},
		{"UpdatedAt", c.UpdatedAt, testStart},
		{"ErasedAt", c.ErasedAt, time.Time{}},
		{"timeline", timeline(t, s, c.ID), []string{"added: Added from api"}},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s: got %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	byEmail, err := s.ContactByEmail(ctx, "ANN@example.COM ")
	if err != nil || byEmail.ID != c.ID {
		t.Errorf("ContactByEmail: got %v (%v), want id %v", byEmail.ID, err, c.ID)
	}
	if _, err := s.ContactByEmail(ctx, "bob@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ContactByEmail of a stranger: got %v, want %v", err, ErrNotFound)
	}
	if _, err := s.Contact(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("Contact(999): got %v, want %v", err, ErrNotFound)
	}
}

func TestCreateContactEmailUnique(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	createContact(t, s, ContactInput{Email: ptr("ann@example.com")})
	for _, email := range []string{"ann@example.com", "ANN@Example.COM", " ann@example.com"} {
		_, created, err := s.CreateContact(ctx, ContactInput{Email: ptr(email), FirstName: ptr("Other")}, false)
		if !errors.Is(err, ErrConflict) || created {
			t.Errorf("CreateContact(%q) again: got %v (created %v), want %v", email, err, created, ErrConflict)
		}
	}
	if got := countRows(t, s, `SELECT COUNT(*) FROM contacts`); got != 1 {
		t.Errorf("contacts: got %v, want 1", got)
	}
	if c, _ := s.ContactByEmail(ctx, "ann@example.com"); c.FirstName != "" {
		t.Errorf("FirstName after refused create: got %q, want it unchanged", c.FirstName)
	}
}

func TestCreateContactUpsert(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := openTestStore(t)
	first := createContact(t, s, ContactInput{
		Email: ptr("ann@example.com"), FirstName: ptr("Ann"), LastName: ptr("Archer"),
		Attributes: map[string]any{"city": "Leeds", "plan": "pro", "age": 30},
		Tags:       &[]string{"a", "b"},
	})
	clk.advance(time.Hour)
	c, created, err := s.CreateContact(ctx, ContactInput{
		Email: ptr("ANN@example.com"), FirstName: ptr("Annie"),
		Attributes: map[string]any{"plan": nil, "age": 31, "vip": true},
	}, true)
	if err != nil {
		t.Fatalf("CreateContact upsert: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"created", created, false},
		{"ID", c.ID, first.ID},
		{"FirstName", c.FirstName, "Annie"},
		{"LastName", c.LastName, "Archer"},
		{"Attributes", c.Attributes, map[string]any{"city": "Leeds", "age": 31.0, "vip": true}},
		{"Tags", c.Tags, []string{"a", "b"}},
		{"CreatedAt", c.CreatedAt, testStart},
		{"UpdatedAt", c.UpdatedAt, testStart.Add(time.Hour)},
		{"contacts", countRows(t, s, `SELECT COUNT(*) FROM contacts`), 1},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s: got %v, want %v", ch.name, ch.got, ch.want)
		}
	}

	// Tags replace the contact's tags, ignoring case and repeats; an empty list clears them.
	for _, tc := range []struct {
		tags *[]string
		want []string
	}{
		{&[]string{"c", "C", " d "}, []string{"c", "d"}},
		{nil, []string{"c", "d"}},
		{&[]string{}, []string{}},
	} {
		c, err := s.UpdateContact(ctx, first.ID, ContactInput{Tags: tc.tags})
		if err != nil {
			t.Fatalf("UpdateContact tags: %v", err)
		}
		if !reflect.DeepEqual(c.Tags, tc.want) {
			t.Errorf("Tags after setting %v: got %v, want %v", tc.tags, c.Tags, tc.want)
		}
	}
}

func TestCreateContactLists(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	single := createTestList(t, s, "Single", OptInSingle)
	double := createTestList(t, s, "Double", OptInDouble)
	lists := []int64{single.ID, double.ID}
	cases := []struct {
		email, listStatus, want string
	}{
		{"default@example.com", "", "Double=confirmed Single=confirmed"},
		{"confirmed@example.com", MemberConfirmed, "Double=confirmed Single=confirmed"},
		{"unconfirmed@example.com", MemberUnconfirmed, "Double=unconfirmed Single=unconfirmed"},
		{"unsubscribed@example.com", MemberUnsubscribed, "Double=unsubscribed Single=unsubscribed"},
	}
	for _, tc := range cases {
		t.Run(tc.email, func(t *testing.T) {
			c := createContact(t, s, ContactInput{Email: ptr(tc.email), Lists: lists, ListStatus: tc.listStatus})
			if got := membershipList(c); got != tc.want {
				t.Errorf("memberships: got %v, want %v", got, tc.want)
			}
		})
	}

	// A list that does not exist refuses the whole create.
	_, _, err := s.CreateContact(ctx, ContactInput{Email: ptr("half@example.com"), Tags: &[]string{"fresh"},
		Lists: []int64{single.ID, 9999}}, false)
	sameFields(t, err, "lists")
	if _, err := s.ContactByEmail(ctx, "half@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("contact after failed create: got %v, want %v", err, ErrNotFound)
	}
	for q, want := range map[string]int{
		`SELECT COUNT(*) FROM contacts`:                  len(cases),
		`SELECT COUNT(*) FROM list_members`:              2 * len(cases),
		`SELECT COUNT(*) FROM tags WHERE name = 'fresh'`: 0,
	} {
		if got := countRows(t, s, q); got != want {
			t.Errorf("%s: got %v, want %v", q, got, want)
		}
	}

	// Nor does a failed upsert change the existing contact.
	_, _, err = s.CreateContact(ctx, ContactInput{Email: ptr("default@example.com"), FirstName: ptr("Changed"),
		Lists: []int64{9999}}, true)
	sameFields(t, err, "lists")
	if c, _ := s.ContactByEmail(ctx, "default@example.com"); c.FirstName != "" {
		t.Errorf("FirstName after failed upsert: got %q, want it unchanged", c.FirstName)
	}
}

func TestContactTimeline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	news := createTestList(t, s, "News", OptInSingle)
	deals := createTestList(t, s, "Deals", OptInDouble)
	c := createContact(t, s, ContactInput{Email: ptr("ann@example.com"), Lists: []int64{news.ID}})

	if err := s.SetMembership(ctx, c.ID, deals.ID, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing from a list the contact is not on: got %v, want %v", err, ErrNotFound)
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"subscribe to deals", func() error { return s.SetMembership(ctx, c.ID, deals.ID, MemberUnconfirmed) }},
		{"subscribe to deals again", func() error { return s.SetMembership(ctx, c.ID, deals.ID, MemberUnconfirmed) }},
		{"confirm deals", func() error { return s.SetMembership(ctx, c.ID, deals.ID, MemberConfirmed) }},
		{"unsubscribe from all", func() error {
			_, err := s.UpdateContact(ctx, c.ID, ContactInput{Status: ptr(StatusUnsubscribed)})
			return err
		}},
		{"same status again", func() error {
			_, err := s.UpdateContact(ctx, c.ID, ContactInput{Status: ptr(StatusUnsubscribed)})
			return err
		}},
		{"bounce", func() error {
			_, err := s.UpdateContact(ctx, c.ID, ContactInput{Status: ptr(StatusBounced)})
			return err
		}},
		{"unsubscribe from news", func() error { return s.SetMembership(ctx, c.ID, news.ID, MemberUnsubscribed) }},
		{"remove from news", func() error { return s.SetMembership(ctx, c.ID, news.ID, "") }},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
	}
	want := []string{
		"added: Added",
		"confirmed: Subscribed to News (confirmed)",
		"subscribed: Subscribed to Deals, awaiting confirmation",
		"confirmed: Subscribed to Deals (confirmed)",
		"unsubscribed: Status changed from active to unsubscribed",
		"status: Status changed from unsubscribed to bounced",
		"removed: Removed from News",
	}
	if got := timeline(t, s, c.ID); !reflect.DeepEqual(got, want) {
		t.Errorf("timeline:\ngot  %q\nwant %q", got, want)
	}
	evs, err := s.ContactEvents(ctx, c.ID, 2)
	if err != nil || len(evs) != 2 || evs[0].Kind != EventRemoved || evs[1].Kind != EventStatus {
		t.Errorf("ContactEvents limit 2: got %+v (%v), want the newest two, newest first", evs, err)
	}
	got, _ := s.Contact(ctx, c.ID)
	// Unsubscribing from all mail took the contact off every list too.
	if m := membershipList(got); m != "Deals=unsubscribed" {
		t.Errorf("memberships: got %v, want Deals=unsubscribed", m)
	}

	if err := s.SetMembership(ctx, 999, news.ID, MemberConfirmed); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetMembership on a missing contact: got %v, want %v", err, ErrNotFound)
	}
	sameFields(t, s.SetMembership(ctx, c.ID, news.ID, "maybe"), "status")
	sameFields(t, s.SetMembership(ctx, c.ID, 999, MemberConfirmed), "lists")
}

func TestUpdateContact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	ann := createContact(t, s, ContactInput{Email: ptr("ann@example.com"), Attributes: map[string]any{"city": "Leeds", "plan": "pro"}})
	createContact(t, s, ContactInput{Email: ptr("bob@example.com")})

	if _, err := s.UpdateContact(ctx, 999, ContactInput{FirstName: ptr("X")}); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateContact(999): got %v, want %v", err, ErrNotFound)
	}
	if _, err := s.UpdateContact(ctx, ann.ID, ContactInput{Email: ptr("BOB@example.com")}); !errors.Is(err, ErrConflict) {
		t.Errorf("email taken by another contact: got %v, want %v", err, ErrConflict)
	}
	_, err := s.UpdateContact(ctx, ann.ID, ContactInput{Email: ptr("not an email"), Status: ptr("nope")})
	sameFields(t, err, "email", "status")

	c, err := s.UpdateContact(ctx, ann.ID, ContactInput{Email: ptr(" anne@example.com "), Attributes: map[string]any{"plan": nil}})
	if err != nil {
		t.Fatalf("UpdateContact: %v", err)
	}
	if c.Email != "anne@example.com" || !reflect.DeepEqual(c.Attributes, map[string]any{"city": "Leeds"}) {
		t.Errorf("after update: got %v %v, want anne@example.com map[city:Leeds]", c.Email, c.Attributes)
	}
	if _, err := s.ContactByEmail(ctx, "ann@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("old email: got %v, want %v", err, ErrNotFound)
	}
}

func TestEraseContact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	news := createTestList(t, s, "News", OptInSingle)
	deals := createTestList(t, s, "Deals", OptInDouble)
	c := createContact(t, s, ContactInput{
		Email: ptr("ann@example.com"), FirstName: ptr("Ann"), LastName: ptr("Archer"),
		Attributes: map[string]any{"city": "Leeds"}, Tags: &[]string{"vip"}, Lists: []int64{news.ID, deals.ID},
		Source: "form", Consent: &Consent{IP: "192.0.2.1", At: testStart, Form: "footer"},
	})
	other := createContact(t, s, ContactInput{Email: ptr("bob@example.com"), Tags: &[]string{"vip"}, Lists: []int64{news.ID}})

	if err := s.EraseContact(ctx, c.ID); err != nil {
		t.Fatalf("EraseContact: %v", err)
	}
	got, err := s.Contact(ctx, c.ID)
	if err != nil {
		t.Fatalf("Contact after erase: %v", err)
	}
	if !strings.HasPrefix(got.Email, fmt.Sprintf("erased-%d-", c.ID)) || !strings.HasSuffix(got.Email, "@erased.invalid") {
		t.Errorf("Email: got %v, want erased-%d-…@erased.invalid", got.Email, c.ID)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"FirstName", got.FirstName, ""},
		{"LastName", got.LastName, ""},
		{"Attributes", got.Attributes, map[string]any{}},
		{"Tags", got.Tags, []string{}},
		{"Status", got.Status, StatusUnsubscribed},
		{"Source", got.Source, ""},
		{"Consent", got.Consent, Consent{}},
		{"ErasedAt", got.ErasedAt, testStart},
		{"Memberships", membershipList(got), "Deals=unsubscribed News=unsubscribed"},
		{"timeline", timeline(t, s, c.ID), []string{"erased: Personal data erased on request"}},
		{"contacts", countRows(t, s, `SELECT COUNT(*) FROM contacts`), 2},
		{"other's tags", countRows(t, s, `SELECT COUNT(*) FROM contact_tags WHERE contact_id = ?`, other.ID), 1},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s: got %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if l, _ := s.List(ctx, news.ID); l.Confirmed != 1 || l.Unsubscribed != 1 {
		t.Errorf("News counts: got %d confirmed, %d unsubscribed, want 1 and 1", l.Confirmed, l.Unsubscribed)
	}
	if _, err := s.ContactByEmail(ctx, "ann@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ContactByEmail of erased address: got %v, want %v", err, ErrNotFound)
	}
	_, err = s.UpdateContact(ctx, c.ID, ContactInput{FirstName: ptr("Ann")})
	sameFields(t, err, "id")
	if got, _ := s.Contact(ctx, c.ID); got.FirstName != "" {
		t.Errorf("FirstName after refused update: got %q, want \"\"", got.FirstName)
	}
	// The address is free again: the person may sign up afresh.
	createContact(t, s, ContactInput{Email: ptr("ann@example.com")})
	if err := s.EraseContact(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("EraseContact(999): got %v, want %v", err, ErrNotFound)
	}
}

func TestDeleteContact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	news := createTestList(t, s, "News", OptInSingle)
	c := createContact(t, s, ContactInput{Email: ptr("ann@example.com"), Tags: &[]string{"vip", "gone"}, Lists: []int64{news.ID}})
	other := createContact(t, s, ContactInput{Email: ptr("bob@example.com"), Tags: &[]string{"vip"}, Lists: []int64{news.ID}})

	if err := s.DeleteContact(ctx, c.ID); err != nil {
		t.Fatalf("DeleteContact: %v", err)
	}
	if _, err := s.Contact(ctx, c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Contact after delete: got %v, want %v", err, ErrNotFound)
	}
	for _, table := range []string{"list_members", "contact_tags", "contact_events"} {
		if got := countRows(t, s, `SELECT COUNT(*) FROM `+table+` WHERE contact_id = ?`, c.ID); got != 0 {
			t.Errorf("%s of deleted contact: got %v, want 0", table, got)
		}
		if got := countRows(t, s, `SELECT COUNT(*) FROM `+table+` WHERE contact_id = ?`, other.ID); got == 0 {
			t.Errorf("%s of other contact: got 0, want them kept", table)
		}
	}
	if tags, err := s.Tags(ctx); err != nil || !reflect.DeepEqual(tags, []string{"vip"}) {
		t.Errorf("Tags: got %v (%v), want [vip]", tags, err)
	}
	if l, _ := s.List(ctx, news.ID); l.Confirmed != 1 {
		t.Errorf("News confirmed: got %v, want 1", l.Confirmed)
	}
	if err := s.DeleteContact(ctx, c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteContact again: got %v, want %v", err, ErrNotFound)
	}
}

// TestAttributeCapCountsTheMergedResult checks that changes, which merge
// into what a contact has, cannot take it past MaxAttributes a bit at a time.
func TestAttributeCapCountsTheMergedResult(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestStore(t)
	attrs := func(prefix string, n int) map[string]any {
		m := map[string]any{}
		for i := 0; i < n; i++ {
			m[fmt.Sprintf("%s%d", prefix, i)] = i
		}
		return m
	}
	ann := createContact(t, s, ContactInput{Email: ptr("ann@example.com"), Attributes: attrs("a", 150)})
	count := func() int {
		c, err := s.Contact(ctx, ann.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(c.Attributes)
	}
	steps := []struct {
		name   string
		attrs  map[string]any
		upsert bool
		ok     bool
		after  int
	}{
		{"60 more on 150", attrs("b", 60), false, false, 150},
		{"50 more on 150", attrs("b", 50), false, true, 200},
		{"one more on 200", attrs("c", 1), false, false, 200},
		{"one replaced on 200", map[string]any{"a0": nil, "c0": "x", "a1": "changed"}, false, true, 200},
		{"one more by upsert", attrs("d", 1), true, false, 200},
		{"known ones by upsert", attrs("b", 3), true, true, 200},
	}
	for _, st := range steps {
		var err error
		if st.upsert {
			_, _, err = s.CreateContact(ctx, ContactInput{Email: ptr("ANN@example.com"), Attributes: st.attrs}, true)
		} else {
			_, err = s.UpdateContact(ctx, ann.ID, ContactInput{Attributes: st.attrs})
		}
		var ve *ValidationError
		switch {
		case st.ok && err != nil:
			t.Errorf("%s: got %v, want it stored", st.name, err)
		case !st.ok && (!errors.As(err, &ve) || !strings.Contains(ve.Fields["attributes"], "at most 200 attributes")):
			t.Errorf("%s: got %v, want the attributes refused for passing 200", st.name, err)
		}
		if got := count(); got != st.after {
			t.Errorf("%s: got %d attributes after, want %d", st.name, got, st.after)
		}
	}
}
