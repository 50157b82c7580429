package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// engagementCases run on segmentFixture with the results set by
// addEngagement; $A and $B stand for its two campaigns' ids.
var engagementCases = []segmentCase{
	{"opened any within 7 days", all1(`"field": "opened", "op": "within_days", "value": 7`), "ann bob"},
	{"opened any within 60 days", all1(`"field": "opened", "op": "within_days", "value": 60`), "ann bob jay"},
	{"opened A within 7 days", all1(`"field": "opened", "op": "within_days", "value": 7, "campaign": $A`), "ann"},
	{"opened A within 60 days", all1(`"field": "opened", "op": "within_days", "value": 60, "campaign": $A`), "ann jay"},
	{"opened B within 7 days", all1(`"field": "opened", "op": "within_days", "value": 7, "campaign": $B`), "bob"},
	{"never opened any email", all1(`"field": "opened", "op": "never"`), "cat dan eve fay gus_1 gusx1 hal ivy kim"},
	{"sent A but did not open it", all1(`"field": "opened", "op": "never", "campaign": $A`), "bob"},
	{"clicked any within 7 days", all1(`"field": "clicked", "op": "within_days", "value": 7`), "ann"},
	{"clicked A within 7 days", all1(`"field": "clicked", "op": "within_days", "value": 7, "campaign": $A`), "ann"},
	{"never clicked", all1(`"field": "clicked", "op": "never"`), "bob cat dan eve fay gus_1 gusx1 hal ivy jay kim"},
	{"sent A but did not click it", all1(`"field": "clicked", "op": "never", "campaign": $A`), "bob jay"},
	{"clicked a link with pricing", all1(`"field": "clicked_link", "op": "contains", "value": "PRICING"`), "ann"},
	{"clicked a link with a domain", all1(`"field": "clicked_link", "op": "contains", "value": "example.com/"`), "ann jay"},
	{"link text wildcards are literal", all1(`"field": "clicked_link", "op": "contains", "value": "50%_"`), "ann"},
	{"link text underscore is literal", all1(`"field": "clicked_link", "op": "contains", "value": "b_g"`), ""},
	{"soft bounced once in a row", all1(`"field": "soft_bounced", "op": "in_a_row", "value": 1`), "dan eve"},
	{"soft bounced twice in a row", all1(`"field": "soft_bounced", "op": "in_a_row", "value": 2`), "dan"},
	{"soft bounced within 7 days", all1(`"field": "soft_bounced", "op": "within_days", "value": 7`), "dan"},
	{"soft bounced within 30 days", all1(`"field": "soft_bounced", "op": "within_days", "value": 30`), "dan eve"},
	{"engaged or not", `{"match": "any", "conditions": [
		{"field": "opened", "op": "within_days", "value": 7},
		{"field": "soft_bounced", "op": "in_a_row", "value": 2}]}`, "ann bob dan"},
}

// addEngagement records results on segmentFixture, relative to testStart:
// campaigns A and B were sent; ann opened and clicked A two days ago, bob
// was sent A and did not open it but opened B a day ago, cat's A failed, jay
// opened A forty days ago and clicked a link of B (a scanner clicked his A
// and kim's); dan and eve bounced softly.
func addEngagement(t *testing.T, s *Store) (a, b int64) {
	t.Helper()
	ctx := context.Background()
	id := map[string]int64{}
	rows, err := s.r.QueryContext(ctx, `SELECT id, email FROM contacts`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n int64
		var email string
		rows.Scan(&n, &email)
		id[contactKey(email)] = n
	}
	rows.Close()
	ago := func(days int) int64 { return testStart.AddDate(0, 0, -days).Unix() }
	now := testStart.Unix()
	camp := func(name string) int64 {
		var n int64
		if err := s.w.QueryRowContext(ctx, `INSERT INTO campaigns (name, status, created_at, updated_at) VALUES (?, 'sent', ?, ?) RETURNING id`, name, now, now).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	a, b = camp("A"), camp("B")
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := s.w.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	send := func(c int64, who, status string, opens, clicks int, openedAt, clickedAt any) {
		exec(`INSERT INTO sends (campaign_id, contact_id, email, status, updated_at, opens, clicks, opened_at, clicked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c, id[who], who+"@example.com", status, now, opens, clicks, openedAt, clickedAt)
	}
	send(a, "ann", "sent", 2, 1, ago(2), ago(2))
	send(a, "bob", "sent", 0, 0, nil, nil)
	send(a, "cat", "failed", 0, 0, nil, nil)
	send(a, "jay", "sent", 1, 0, ago(40), nil)
	send(b, "bob", "sent", 1, 0, ago(1), nil)
	exec(`UPDATE sends SET human_clicks = clicks, human_opens = opens`)
	// A scanner followed jay's link in A: a click, but no person's.
	exec(`UPDATE sends SET clicks = 1, clicked_at = ? WHERE contact_id = ?`, ago(5), id["jay"])
	exec(`UPDATE contacts SET last_open_at = ?, last_click_at = ? WHERE id = ?`, ago(2), ago(2), id["ann"])
	exec(`UPDATE contacts SET last_open_at = ? WHERE id = ?`, ago(1), id["bob"])
	exec(`UPDATE contacts SET last_open_at = ? WHERE id = ?`, ago(40), id["jay"])
	exec(`UPDATE contacts SET soft_bounces = 2 WHERE id = ?`, id["dan"])
	exec(`UPDATE contacts SET soft_bounces = 1 WHERE id = ?`, id["eve"])
	link := func(c int64, url string) int64 {
		var n int64
		if err := s.w.QueryRowContext(ctx, `INSERT INTO links (campaign_id, url, created_at) VALUES (?, ?, ?) RETURNING id`, c, url, now).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	pricing, blog := link(a, "https://shop.example.com/pricing?deal=50%_off"), link(b, "https://example.com/blog")
	event := func(kind, who string, c, linkID any, at int64) {
		exec(`INSERT INTO events (at, kind, campaign_id, contact_id, link_id) VALUES (?, ?, ?, ?, ?)`, at, kind, c, id[who], linkID)
	}
	event(ResultClick, "ann", a, pricing, ago(2))
	event(ResultClick, "jay", b, blog, ago(3))
	event(ResultClick, "bob", b, nil, ago(1))
	exec(`INSERT INTO events (at, kind, machine, campaign_id, contact_id, link_id) VALUES (?, 'click', 1, ?, ?, ?)`, ago(1), a, id["kim"], pricing)
	event(ResultSoftBounce, "dan", a, nil, ago(3))
	event(ResultSoftBounce, "eve", a, nil, ago(20))
	return a, b
}

func campaignIDs(a, b int64) *strings.Replacer {
	return strings.NewReplacer("$A", strconv.FormatInt(a, 10), "$B", strconv.FormatInt(b, 10))
}

func TestSegmentEngagementRules(t *testing.T) {
	t.Parallel()
	s, _ := openSegmentStore(t)
	ids := campaignIDs(addEngagement(t, s))
	runSegmentCases(t, s, ids, engagementCases)
}

// TestSegmentEngagementClock checks that "within N days" counts back from
// the store's clock.
func TestSegmentEngagementClock(t *testing.T) {
	s, _ := openSegmentStore(t)
	ids := campaignIDs(addEngagement(t, s))
	s.SetClock(func() time.Time { return testStart.AddDate(0, 0, 10) })
	runSegmentCases(t, s, ids, []segmentCase{
		{"opened within 7 days", all1(`"field": "opened", "op": "within_days", "value": 7`), ""},
		{"opened within 12 days", all1(`"field": "opened", "op": "within_days", "value": 12`), "ann bob"},
		{"opened A within 11 days", all1(`"field": "opened", "op": "within_days", "value": 11, "campaign": $A`), ""},
		{"clicked within 12 days", all1(`"field": "clicked", "op": "within_days", "value": 12`), "ann"},
		{"soft bounced within 7 days", all1(`"field": "soft_bounced", "op": "within_days", "value": 7`), ""},
		{"soft bounced within 13 days", all1(`"field": "soft_bounced", "op": "within_days", "value": 13`), "dan"},
	})
}

func TestSegmentEngagementErrors(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 201)
	for _, tc := range []struct{ rule, path, msg string }{
		{all1(`"field": "opened", "op": "within_days", "value": 0`), "rules.conditions[0].value", "from 1 to 3650"},
		{all1(`"field": "opened", "op": "within_days", "value": 3651`), "rules.conditions[0].value", "from 1 to 3650"},
		{all1(`"field": "clicked", "op": "within_days", "value": "30"`), "rules.conditions[0].value", "whole number of days"},
		{all1(`"field": "opened", "op": "never", "value": 3`), "rules.conditions[0].value", "takes no value"},
		{all1(`"field": "opened", "op": "within_days", "value": 3, "campaign": -1`), "rules.conditions[0].campaign", "campaign id"},
		{all1(`"field": "email", "op": "eq", "value": "a", "campaign": 1`), "rules.conditions[0].campaign", "only opened and clicked"},
		{all1(`"field": "soft_bounced", "op": "in_a_row", "value": 0`), "rules.conditions[0].value", "from 1 to 1000"},
		{all1(`"field": "clicked_link", "op": "contains", "value": ""`), "rules.conditions[0].value", "1 to 200 characters"},
		{all1(`"field": "clicked_link", "op": "contains", "value": "` + long + `"`), "rules.conditions[0].value", "1 to 200 characters"},
		{all1(`"field": "opened", "op": "eq", "value": 3`), "rules.conditions[0].op", "within_days, never"},
	} {
		r, err := ParseRule([]byte(tc.rule))
		if err != nil {
			t.Fatalf("ParseRule(%s): %v", tc.rule, err)
		}
		_, err = CompileRule(r, testStart)
		checkRuleError(t, err, tc.path, tc.msg)
	}
}

// TestSegmentUnknownCampaign checks that a rule naming a campaign that does
// not exist is refused by the live count and when saved.
func TestSegmentUnknownCampaign(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	r, err := ParseRule([]byte(all1(`"field": "status", "op": "eq", "value": "active"`, `"field": "opened", "op": "never", "campaign": 99`)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CountRule(ctx, r)
	checkRuleError(t, err, "rules.conditions[1].campaign", "no campaign 99")
	_, err = s.CreateSegment(ctx, SegmentInput{Name: ptr("Lapsed"), Rules: &r})
	var ve *ValidationError
	if !errors.As(err, &ve) || !strings.Contains(ve.Fields["rules.conditions[1].campaign"], "no campaign 99") {
		t.Errorf("CreateSegment: got %v, want a validation error on rules.conditions[1].campaign", err)
	}
}

// TestOpenedWithinUsesIndex checks that "opened any email in the last N
// days" reads the index on last_open_at rather than every contact.
func TestOpenedWithinUsesIndex(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	for _, field := range []string{"opened", "clicked"} {
		r, _ := ParseRule([]byte(all1(`"field": "` + field + `", "op": "within_days", "value": 30`)))
		c, err := CompileRule(r, testStart)
		if err != nil {
			t.Fatal(err)
		}
		plan := queryPlan(t, s.r, `SELECT COUNT(*) FROM contacts c WHERE `+c.Where, c.Args...)
		want := map[string]string{"opened": "contacts_last_open", "clicked": "contacts_last_click"}[field]
		if got := strings.Join(plan, "; "); !strings.Contains(got, "USING COVERING INDEX "+want) && !strings.Contains(got, "USING INDEX "+want) {
			t.Errorf("%s plan: got %q, want a search of %s", field, got, want)
		}
	}
}

// TestSegmentUntrackedCampaign checks that "did not open" a campaign that
// tracked no opens is refused: it would match everyone it was sent to.
func TestSegmentUntrackedCampaign(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	c, err := s.CreateCampaign(ctx, CampaignInput{Name: ptr("Untracked")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartCampaign(ctx, c.ID, `{"tracking":{"clicks":true}}`); err != nil {
		t.Fatal(err)
	}
	opened, _ := ParseRule([]byte(all1(`"field": "status", "op": "eq", "value": "active"`, fmt.Sprintf(`"field": "opened", "op": "never", "campaign": %d`, c.ID))))
	_, err = s.CountRule(ctx, opened)
	checkRuleError(t, err, "rules.conditions[1].campaign", "did not track opens")
	clicked, _ := ParseRule([]byte(all1(`"field": "status", "op": "eq", "value": "active"`, fmt.Sprintf(`"field": "clicked", "op": "never", "campaign": %d`, c.ID))))
	if _, err := s.CountRule(ctx, clicked); err != nil {
		t.Errorf("clicks of a campaign that tracked them: %v", err)
	}
}

// TestEventsByContactUseIndex checks that every read of a contact's events
// (the timeline, and the segment conditions on clicked links and soft
// bounces) repeats the condition of the events_contact index and uses it.
func TestEventsByContactUseIndex(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	plans := map[string][]string{"timeline": queryPlan(t, s.r, contactTimeline, 1, 10)}
	for name, rule := range map[string]string{
		"clicked link": `"field": "clicked_link", "op": "contains", "value": "pricing"`,
		"soft bounced": `"field": "soft_bounced", "op": "within_days", "value": 7`,
	} {
		r, _ := ParseRule([]byte(all1(rule)))
		c, err := CompileRule(r, testStart)
		if err != nil {
			t.Fatal(err)
		}
		plans[name] = queryPlan(t, s.r, `SELECT COUNT(*) FROM contacts c WHERE `+c.Where, c.Args...)
	}
	for name, plan := range plans {
		if got := strings.Join(plan, "; "); !strings.Contains(got, "INDEX events_contact") {
			t.Errorf("%s: got %q, want a search of events_contact", name, got)
		}
	}
}
