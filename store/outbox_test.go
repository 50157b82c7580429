package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// audienceFixture builds lists, segments and contacts that exercise every
// rule of who a campaign reaches, and returns the campaign and audience.
func audienceFixture(t *testing.T, s *Store) (Campaign, map[string]int64) {
	t.Helper()
	ctx := context.Background()
	lists := map[string]int64{}
	for _, name := range []string{"A", "B", "X"} {
		l, err := s.CreateList(ctx, ListInput{Name: ptr(name)})
		if err != nil {
			t.Fatal(err)
		}
		lists[name] = l.ID
	}
	rule := func(field, value string) *Rule {
		v, _ := json.Marshal(value)
		return &Rule{Match: "all", Conditions: []Rule{{Field: field, Op: "eq", Value: v}}}
	}
	seg, err := s.CreateSegment(ctx, SegmentInput{Name: ptr("Seg"), Rules: rule("first_name", "Seg")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.CreateSegment(ctx, SegmentInput{Name: ptr("Out"), Rules: rule("last_name", "Out")})
	if err != nil {
		t.Fatal(err)
	}
	type member struct {
		list, status string
	}
	people := []struct {
		email, first, last, status string
		in                         []member
	}{
		{"both@example.com", "", "", "", []member{{"A", "confirmed"}, {"B", "confirmed"}}},
		{"globally-unsub@example.com", "", "", "unsubscribed", []member{{"A", "confirmed"}}},
		{"pending@example.com", "", "", "", []member{{"A", "unconfirmed"}}},
		{"left-list@example.com", "", "", "", []member{{"A", "unsubscribed"}}},
		{"bounced@example.com", "", "", "bounced", []member{{"A", "confirmed"}}},
		{"complained@example.com", "", "", "complained", []member{{"A", "confirmed"}}},
		{"suppressed@example.com", "", "", "", []member{{"A", "confirmed"}}},
		{"someone@blocked.test", "", "", "", []member{{"B", "confirmed"}}},
		{"excluded-list@example.com", "", "", "", []member{{"A", "confirmed"}, {"X", "confirmed"}}},
		{"segment@example.com", "Seg", "", "", nil},
		{"nobody@example.com", "", "", "", nil},
		{"excluded-segment@example.com", "", "Out", "", []member{{"B", "confirmed"}}},
		{"blocked@example.com", "", "", "blocked", []member{{"B", "confirmed"}}},
		{"unsub-excluded@example.com", "", "", "", []member{{"A", "confirmed"}, {"X", "unsubscribed"}}},
	}
	for _, p := range people {
		in := ContactInput{Email: ptr(p.email), FirstName: ptr(p.first), LastName: ptr(p.last), Source: "test"}
		if p.status != "" {
			in.Status = ptr(p.status)
		}
		c, _, err := s.CreateContact(ctx, in, false)
		if err != nil {
			t.Fatalf("contact %s: %v", p.email, err)
		}
		for _, m := range p.in {
			if err := s.SetMembership(ctx, c.ID, lists[m.list], m.status); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, sp := range []SuppressionInput{{Kind: SuppressEmail, Value: "suppressed@example.com"}, {Kind: SuppressDomain, Value: "blocked.test"}} {
		if _, _, err := s.AddSuppression(ctx, sp); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.CreateCampaign(ctx, CampaignInput{Name: ptr("May news"), Subject: ptr("News"),
		ListIDs: &[]int64{lists["A"], lists["B"]}, SegmentID: &seg.ID, ExcludeListIDs: &[]int64{lists["X"]}, ExcludeSegmentID: &out.ID})
	if err != nil {
		t.Fatal(err)
	}
	return c, lists
}

func outboxEmails(t *testing.T, s *Store, campaignID int64) []string {
	t.Helper()
	rows, err := s.r.Query(`SELECT email FROM sends WHERE campaign_id = ? AND status = 'queued' ORDER BY email`, campaignID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var e string
		rows.Scan(&e)
		out = append(out, e)
	}
	return out
}

var wantOutbox = []string{"both@example.com", "segment@example.com", "unsub-excluded@example.com"}
var wantSkipped = map[string]int{SkipUnsubscribed: 2, SkipUnconfirmed: 1, SkipBounced: 1, SkipComplained: 1, SkipSuppressed: 3}

func TestMaterialiseChoosesTheAudience(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	c, _ := audienceFixture(t, s)
	a, err := s.CampaignAudience(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Materialise(ctx, c.ID, a)
	if err != nil {
		t.Fatal(err)
	}
	if got := outboxEmails(t, s, c.ID); !slices.Equal(got, wantOutbox) {
		t.Errorf("outbox: got %v, want %v", got, wantOutbox)
	}
	if !m.Done || m.Recipients != len(wantOutbox) || !maps.Equal(m.Skipped, wantSkipped) {
		t.Errorf("materialised: got %+v, want done with %d recipients and skipped %v", m, len(wantOutbox), wantSkipped)
	}

	// Running it again, as after a crash, adds nobody and counts nobody twice.
	if _, err := s.MaterialiseStep(ctx, c.ID, a); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Campaign(ctx, c.ID)
	if got.Recipients != len(wantOutbox) || !maps.Equal(got.Skipped, wantSkipped) || countRows(t, s, `SELECT count(*) FROM sends`) != len(wantOutbox) {
		t.Errorf("after a second run: got %d recipients, skipped %v, %d rows", got.Recipients, got.Skipped, countRows(t, s, `SELECT count(*) FROM sends`))
	}
}

func TestMaterialiseInBatchesResumesAndFreezesTheAudience(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	box := testBox(t)
	s := openStoreAt(t, dir, box)
	ctx := context.Background()
	c, lists := audienceFixture(t, s)
	a, err := s.CampaignAudience(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer func(n int64) { materialiseBatch = n }(materialiseBatch)
	materialiseBatch = 4

	m, err := s.MaterialiseStep(ctx, c.ID, a)
	if err != nil || m.Done {
		t.Fatalf("first step: got %+v, %v; want a step that is not done", m, err)
	}
	// Someone joins after sending started: they are not in this campaign.
	late, _, err := s.CreateContact(ctx, ContactInput{Email: ptr("late@example.com"), Lists: []int64{lists["A"]}, Source: "test"}, false)
	if err != nil {
		t.Fatal(err)
	}
	// A restart carries on from the campaign's stored place.
	s.Close()
	s = openStoreAt(t, dir, box)
	steps := 1
	for !m.Done {
		if m, err = s.MaterialiseStep(ctx, c.ID, a); err != nil {
			t.Fatal(err)
		}
		steps++
	}
	if steps != 4 {
		t.Errorf("steps for 14 contacts in batches of 4: got %d, want 4", steps)
	}
	if got := outboxEmails(t, s, c.ID); !slices.Equal(got, wantOutbox) {
		t.Errorf("outbox: got %v, want %v (late joiner %d must not be in it)", got, wantOutbox, late.ID)
	}
	if m.Recipients != len(wantOutbox) || !maps.Equal(m.Skipped, wantSkipped) {
		t.Errorf("counts: got %d and %v, want %d and %v", m.Recipients, m.Skipped, len(wantOutbox), wantSkipped)
	}
}

func TestCampaignValidationAndReferences(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	cases := []struct {
		in    CampaignInput
		field string
	}{
		{CampaignInput{Name: ptr(" ")}, "name"},
		{CampaignInput{Name: ptr("x"), FromEmail: ptr("not an address")}, "from_email"},
		{CampaignInput{Name: ptr("x"), ReplyTo: ptr("a@b")}, "reply_to"},
		{CampaignInput{Name: ptr("x"), Subject: ptr("two\nlines")}, "subject"},
		{CampaignInput{Name: ptr("x"), Format: ptr("rtf")}, "format"},
		{CampaignInput{Name: ptr("x"), ListIDs: &[]int64{42}}, "list_ids"},
		{CampaignInput{Name: ptr("x"), ExcludeListIDs: &[]int64{42}}, "exclude_list_ids"},
		{CampaignInput{Name: ptr("x"), SegmentID: new(int64(9))}, "segment_id"},
		{CampaignInput{Name: ptr("x"), TemplateID: new(int64(9))}, "template_id"},
		{CampaignInput{Name: ptr("x"), RelayID: new(int64(9))}, "relay_id"},
	}
	for _, tc := range cases {
		_, err := s.CreateCampaign(ctx, tc.in)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Fields[tc.field] == "" {
			t.Errorf("%s: got %v, want a message on %s", tc.field, err, tc.field)
		}
	}
	if n := countRows(t, s, `SELECT count(*) FROM campaigns`); n != 0 {
		t.Errorf("campaigns after refused creates: got %d, want 0", n)
	}

	c, err := s.CreateCampaign(ctx, CampaignInput{Name: ptr("Draft"), FromEmail: ptr(" News@Example.com ")})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != CampaignDraft || c.Format != "markdown" || c.FromEmail != "news@example.com" || len(c.ListIDs) != 0 {
		t.Errorf("created: got %+v", c)
	}
	c, err = s.UpdateCampaign(ctx, c.ID, CampaignInput{Subject: ptr("Hello")})
	if err != nil || c.Subject != "Hello" || c.Name != "Draft" {
		t.Fatalf("update: got %+v, %v", c, err)
	}
	if _, err := s.w.Exec(`UPDATE campaigns SET status = 'sending' WHERE id = ?`, c.ID); err != nil {
		t.Fatal(err)
	}
	var ve *ValidationError
	if _, err := s.UpdateCampaign(ctx, c.ID, CampaignInput{Subject: ptr("Changed")}); !errors.As(err, &ve) || ve.Fields["status"] == "" {
		t.Errorf("update while sending: got %v, want a status error", err)
	}
	if err := s.DeleteCampaign(ctx, c.ID); !errors.As(err, &ve) {
		t.Errorf("delete while sending: got %v, want a status error", err)
	}
	list, err := s.Campaigns(ctx, CampaignSending)
	if err != nil || len(list) != 1 || list[0].Subject != "Hello" {
		t.Errorf("Campaigns(sending): got %v, %v", list, err)
	}
	if list, _ := s.Campaigns(ctx, CampaignDraft); len(list) != 0 {
		t.Errorf("Campaigns(draft): got %d, want 0", len(list))
	}
}

func TestClaimRecordAndRecoverSends(t *testing.T) {
	t.Parallel()
	s, clock := openTestStore(t)
	ctx := context.Background()
	l, err := s.CreateList(ctx, ListInput{Name: ptr("All")})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, _, err := s.CreateContact(ctx, ContactInput{Email: new(fmt.Sprintf("p%d@example.com", i)), Lists: []int64{l.ID}, Source: "test"}, false); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.CreateCampaign(ctx, CampaignInput{Name: ptr("All"), ListIDs: &[]int64{l.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Materialise(ctx, c.ID, Audience{Lists: c.ListIDs}); err != nil {
		t.Fatal(err)
	}

	first, err := s.ClaimSends(ctx, c.ID, 4, time.Minute)
	if err != nil || len(first) != 4 || first[0].Email != "p0@example.com" || first[0].Status != SendSending {
		t.Fatalf("first claim: got %+v, %v; want the first 4 in id order, sending", first, err)
	}
	second, err := s.ClaimSends(ctx, c.ID, 4, time.Minute)
	if err != nil || len(second) != 4 || second[0].ID <= first[3].ID {
		t.Fatalf("second claim: got %+v, %v; want the next 4", second, err)
	}

	// Outcomes of the first claim: two sent, one to retry in 30 s, one failed.
	err = s.RecordOutcomes(ctx, []Outcome{
		{SendID: first[0].ID, Status: SendSent, Code: 250, Response: "2.0.0 queued as A1", ProviderID: "A1"},
		{SendID: first[1].ID, Status: SendSent, Code: 250, Response: "2.0.0 ok"},
		{SendID: first[2].ID, Status: SendRetrying, Code: 451, Response: "4.7.1 try later", NextAttempt: clock.now().Add(30 * time.Second)},
		{SendID: first[3].ID, Status: SendFailed, Code: 550, Response: "5.1.1 no such user"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RecordOutcomes(ctx, []Outcome{{SendID: first[0].ID, Status: SendCancelled}}); err == nil {
		t.Error("an outcome of cancelled: got no error")
	}
	counts, err := s.SendCounts(ctx, c.ID)
	want := map[string]int{SendSent: 2, SendRetrying: 1, SendFailed: 1, SendSending: 4, SendQueued: 2}
	if err != nil || !maps.Equal(counts, want) {
		t.Errorf("counts: got %v, %v; want %v", counts, err, want)
	}

	// The process holding the second claim dies. Before the lease runs out
	// nothing is recovered; after it, the rows are queued again.
	if n, err := s.RecoverLeases(ctx, nil); err != nil || n != 0 {
		t.Errorf("recover within the lease: got %d, %v; want 0", n, err)
	}
	clock.advance(2 * time.Minute)
	if n, err := s.RecoverLeases(ctx, nil); err != nil || n != 4 {
		t.Errorf("recover after the lease: got %d, %v; want 4", n, err)
	}

	// The retry is now due and comes first, then the queue in id order.
	third, err := s.ClaimSends(ctx, c.ID, 100, time.Minute)
	if err != nil || len(third) != 7 {
		t.Fatalf("third claim: got %d rows, %v; want 7 (1 retry and 6 queued)", len(third), err)
	}
	retried := slices.IndexFunc(third, func(sd Send) bool { return sd.ID == first[2].ID })
	if retried < 0 || third[retried].Attempts != 1 || third[retried].LastCode != 451 {
		t.Errorf("retried row: got %+v, want attempt 1 with code 451", third)
	}
	sent, err := scanSend(s.r.QueryRow(`SELECT `+sendColumns+` FROM sends WHERE id = ?`, first[0].ID))
	if err != nil || sent.ProviderID != "A1" || sent.SentAt.IsZero() || sent.Attempts != 1 || sent.LastResponse != "2.0.0 queued as A1" {
		t.Errorf("sent row: got %+v, %v", sent, err)
	}
}

func TestStartFinishAndHardBounce(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	l, _ := s.CreateList(ctx, ListInput{Name: ptr("All")})
	a, _, err := s.CreateContact(ctx, ContactInput{Email: ptr("a@example.com"), Lists: []int64{l.ID}, Source: "test"}, false)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := s.CreateCampaign(ctx, CampaignInput{Name: ptr("All"), ListIDs: &[]int64{l.ID}})

	started, err := s.StartCampaign(ctx, c.ID, `{"subject":"Hi"}`)
	if err != nil || started.Status != CampaignSending || started.StartedAt.IsZero() {
		t.Fatalf("start: got %+v, %v", started, err)
	}
	var ve *ValidationError
	if _, err := s.StartCampaign(ctx, c.ID, `{}`); !errors.As(err, &ve) || ve.Fields["status"] == "" {
		t.Errorf("second start: got %v, want a status error", err)
	}
	if frozen, err := s.CampaignFrozen(ctx, c.ID); err != nil || frozen != `{"subject":"Hi"}` {
		t.Errorf("frozen: got %q, %v; want the first start's", frozen, err)
	}
	if done, err := s.FinishCampaign(ctx, c.ID); err != nil || done {
		t.Errorf("finish before materialising: got %v, %v; want false", done, err)
	}
	if _, err := s.Materialise(ctx, c.ID, Audience{Lists: c.ListIDs}); err != nil {
		t.Fatal(err)
	}
	if done, _ := s.FinishCampaign(ctx, c.ID); done {
		t.Error("finish with a queued send: got true, want false")
	}
	claimed, _ := s.ClaimSends(ctx, c.ID, 10, time.Minute)
	if done, _ := s.FinishCampaign(ctx, c.ID); done {
		t.Error("finish with a send in flight: got true, want false")
	}
	s.RecordOutcomes(ctx, []Outcome{{SendID: claimed[0].ID, Status: SendFailed, Code: 550, Response: "550 5.1.1 no such user"}})
	if err := s.HardBounce(ctx, a.ID, "A@example.com", "550 5.1.1 no such user"); err != nil {
		t.Fatal(err)
	}
	if done, err := s.FinishCampaign(ctx, c.ID); err != nil || !done {
		t.Errorf("finish when every send is done: got %v, %v; want true", done, err)
	}
	got, _ := s.Campaign(ctx, c.ID)
	if got.Status != CampaignSent || got.FinishedAt.IsZero() {
		t.Errorf("finished campaign: got %+v", got)
	}

	contact, _ := s.Contact(ctx, a.ID)
	if contact.Status != "bounced" {
		t.Errorf("bounced contact status: got %q", contact.Status)
	}
	if sp, ok, err := s.Suppressed(ctx, "a@example.com"); err != nil || !ok || sp.Source != "bounce" || sp.Reason != "550 5.1.1 no such user" {
		t.Errorf("suppression after a hard bounce: got %+v, %v, %v", sp, ok, err)
	}
	if n := countRows(t, s, `SELECT count(*) FROM contact_events WHERE contact_id = ? AND kind = 'bounced'`, a.ID); n != 1 {
		t.Errorf("bounce events: got %d, want 1", n)
	}
	// A bounce for a contact erased since is still suppressed.
	if err := s.HardBounce(ctx, 999, "gone@example.com", "550"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Suppressed(ctx, "gone@example.com"); !ok {
		t.Error("bounce of a missing contact: address not suppressed")
	}
}

// TestHeldBackOutcomesAndUsage records a send held back by a rate limit (no
// attempt counted, not due before its time), sent messages adding to their
// usage counters, and a hard bounce counted on its campaign.
func TestHeldBackOutcomesAndUsage(t *testing.T) {
	t.Parallel()
	s, clock := openTestStore(t)
	ctx := context.Background()
	l, _ := s.CreateList(ctx, ListInput{Name: ptr("All")})
	for i := range 3 {
		if _, _, err := s.CreateContact(ctx, ContactInput{Email: new(fmt.Sprintf("p%d@example.com", i)), Lists: []int64{l.ID}, Source: "test"}, false); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := s.CreateCampaign(ctx, CampaignInput{Name: ptr("All"), ListIDs: &[]int64{l.ID}})
	if _, err := s.Materialise(ctx, c.ID, Audience{Lists: c.ListIDs}); err != nil {
		t.Fatal(err)
	}
	claimed, _ := s.ClaimSends(ctx, c.ID, 3, time.Minute)
	day := clock.now().Truncate(24 * time.Hour)
	relay, domain := Counter{"relay:1", day}, Counter{"domain:example.com", clock.now().Truncate(time.Hour)}
	err := s.RecordOutcomes(ctx, []Outcome{
		{SendID: claimed[0].ID, Status: SendQueued, Response: "held back", NextAttempt: clock.now().Add(time.Hour)},
		{SendID: claimed[1].ID, Status: SendSent, Code: 250, Count: []Counter{relay, domain}},
		{SendID: claimed[2].ID, Status: SendFailed, Code: 550, HardBounce: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Usage(ctx, relay); n != 1 {
		t.Errorf("relay usage: %d, want 1", n)
	}
	if err := s.RecordOutcomes(ctx, []Outcome{{SendID: claimed[1].ID, Status: SendSent, Count: []Counter{relay}}}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Usage(ctx, relay); n != 2 {
		t.Errorf("relay usage after another: %d, want 2", n)
	}
	if n, _ := s.Usage(ctx, domain); n != 1 {
		t.Errorf("domain usage: %d, want 1", n)
	}
	if got, _ := s.Campaign(ctx, c.ID); got.Bounces != 1 {
		t.Errorf("campaign bounces: %d, want 1", got.Bounces)
	}
	held, _, _ := s.CampaignSends(ctx, c.ID, SendQueued, Order{}, 10, 0)
	if len(held) != 1 || held[0].Attempts != 0 || held[0].LastResponse != "held back" {
		t.Fatalf("held send: %+v", held)
	}
	if again, _ := s.ClaimSends(ctx, c.ID, 3, time.Minute); len(again) != 0 {
		t.Errorf("claimed a held send before its time: %+v", again)
	}
	clock.advance(time.Hour + time.Second)
	if again, _ := s.ClaimSends(ctx, c.ID, 3, time.Minute); len(again) != 1 {
		t.Errorf("after its time: claimed %d, want the held send", len(again))
	}
	if err := s.PruneUsage(ctx, day.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Usage(ctx, relay); n != 0 {
		t.Errorf("after pruning: %d, want 0", n)
	}
}

// TestComplaintCountsAgainstTheLastCampaign marks a contact complained:
// the last campaign that reached them counts it, for its complaint rate.
func TestComplaintCountsAgainstTheLastCampaign(t *testing.T) {
	t.Parallel()
	s, clock := openTestStore(t)
	ctx := context.Background()
	l, _ := s.CreateList(ctx, ListInput{Name: ptr("All")})
	ct, _, err := s.CreateContact(ctx, ContactInput{Email: new("grumpy@example.com"), Lists: []int64{l.ID}, Source: "test"}, false)
	if err != nil {
		t.Fatal(err)
	}
	var campaigns []Campaign
	for _, name := range []string{"May", "June"} {
		c, _ := s.CreateCampaign(ctx, CampaignInput{Name: ptr(name), ListIDs: &[]int64{l.ID}})
		if _, err := s.Materialise(ctx, c.ID, Audience{Lists: c.ListIDs}); err != nil {
			t.Fatal(err)
		}
		claimed, _ := s.ClaimSends(ctx, c.ID, 1, time.Minute)
		if err := s.RecordOutcomes(ctx, []Outcome{{SendID: claimed[0].ID, Status: SendSent, Code: 250}}); err != nil {
			t.Fatal(err)
		}
		campaigns = append(campaigns, c)
		clock.advance(time.Hour)
	}
	if _, err := s.UpdateContact(ctx, ct.ID, ContactInput{Status: ptr(StatusComplained)}); err != nil {
		t.Fatal(err)
	}
	may, _ := s.Campaign(ctx, campaigns[0].ID)
	june, _ := s.Campaign(ctx, campaigns[1].ID)
	if may.Complaints != 0 || june.Complaints != 1 {
		t.Errorf("complaints: May %d, June %d; want 0 and 1", may.Complaints, june.Complaints)
	}
}

// TestCancelledCampaignLeavesNothingWaiting cancels a campaign while three
// of its sends are in flight: one is sent, one would retry and one goes
// back untried. Only the sent one is not cancelled.
func TestCancelledCampaignLeavesNothingWaiting(t *testing.T) {
	t.Parallel()
	s, clock := openTestStore(t)
	ctx := context.Background()
	l, _ := s.CreateList(ctx, ListInput{Name: ptr("All")})
	for i := range 4 {
		if _, _, err := s.CreateContact(ctx, ContactInput{Email: new(fmt.Sprintf("p%d@example.com", i)), Lists: []int64{l.ID}, Source: "test"}, false); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := s.CreateCampaign(ctx, CampaignInput{Name: ptr("All"), ListIDs: &[]int64{l.ID}})
	if _, err := s.Materialise(ctx, c.ID, Audience{Lists: c.ListIDs}); err != nil {
		t.Fatal(err)
	}
	claimed, _ := s.ClaimSends(ctx, c.ID, 3, time.Minute)
	if _, err := s.setCampaignStatus(ctx, c.ID, CampaignCancelled, CampaignDraft); err != nil {
		t.Fatal(err)
	}
	err := s.RecordOutcomes(ctx, []Outcome{
		{SendID: claimed[0].ID, Status: SendSent, Code: 250},
		{SendID: claimed[1].ID, Status: SendRetrying, Code: 451, NextAttempt: clock.now().Add(time.Minute)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseSends(ctx, []int64{claimed[2].ID}); err != nil {
		t.Fatal(err)
	}
	counts, _ := s.SendCounts(ctx, c.ID)
	if want := map[string]int{SendSent: 1, SendCancelled: 3}; !maps.Equal(counts, want) {
		t.Errorf("after cancelling: %v, want %v", counts, want)
	}
}

// TestExcludedSegmentKeepsThoseItCannotTell: a segment left out of a
// campaign leaves out only the contacts it surely takes; one whose
// attribute is missing, or no number, is not in "age gt 40" and still gets
// the campaign.
func TestExcludedSegmentKeepsThoseItCannotTell(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	l, err := s.CreateList(ctx, ListInput{Name: ptr("All")})
	if err != nil {
		t.Fatal(err)
	}
	for email, attrs := range map[string]map[string]any{"old@example.com": {"age": 50}, "young@example.com": {"age": 20},
		"none@example.com": nil, "text@example.com": {"age": "n/a"}} {
		if _, _, err := s.CreateContact(ctx, ContactInput{Email: ptr(email), Attributes: attrs, Lists: []int64{l.ID}, Source: "test"}, false); err != nil {
			t.Fatal(err)
		}
	}
	rules := Rule{Match: "all", Conditions: []Rule{{Field: "attributes.age", Op: "gt", Value: json.RawMessage(`40`)}}}
	seg, err := s.CreateSegment(ctx, SegmentInput{Name: ptr("Over 40"), Rules: &rules})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.CreateCampaign(ctx, CampaignInput{Name: ptr("News"), ListIDs: &[]int64{l.ID}, ExcludeSegmentID: &seg.ID})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.CampaignAudience(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Materialise(ctx, c.ID, a); err != nil {
		t.Fatal(err)
	}
	if got, want := outboxEmails(t, s, c.ID), []string{"none@example.com", "text@example.com", "young@example.com"}; !slices.Equal(got, want) {
		t.Errorf("outbox: got %v, want %v", got, want)
	}
}

// TestClipResponse keeps a relay's long answer to maxResponse bytes, cut
// on a character's boundary, and a short one whole.
func TestClipResponse(t *testing.T) {
	long := "250 " + strings.Repeat("é", 2*maxResponse)
	got := clipResponse(long)
	if len(got) > maxResponse+len("…") || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") || !strings.HasPrefix(long, strings.TrimSuffix(got, "…")) {
		t.Errorf("clipResponse of %d bytes: got %d bytes %.20q…", len(long), len(got), got)
	}
	if got := clipResponse("250 2.0.0 Ok"); got != "250 2.0.0 Ok" {
		t.Errorf("clipResponse of a short answer: got %q", got)
	}
}
