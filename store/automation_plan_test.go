package store

import (
	"context"
	"errors"
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

// TestWhatAnAutomationUsesCannotBeDeleted: a list, segment, template or
// webhook endpoint an automation names is kept until the automation is
// changed or archived.
func TestWhatAnAutomationUsesCannotBeDeleted(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	name := "News"
	l, err := s.CreateList(ctx, ListInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	url := "https://crm.example/hook"
	hook, _, err := s.CreateWebhook(ctx, WebhookInput{URL: &url, Events: &[]string{EventContactCreated}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	flow := Flow{Steps: []Step{{Kind: StepWebhook, WebhookID: hook.ID}}}
	a, err := s.CreateAutomation(ctx, AutomationInput{Name: &name, Trigger: &Trigger{Kind: TriggerList, ListID: l.ID}, Flow: &flow})
	if err != nil {
		t.Fatal(err)
	}
	for what, del := range map[string]func() error{"list": func() error { return s.DeleteList(ctx, l.ID) }, "webhook": func() error { return s.DeleteWebhook(ctx, hook.ID) }} {
		var ve *ValidationError
		if err := del(); !errors.As(err, &ve) || !strings.Contains(ve.Fields["id"], "News") {
			t.Errorf("deleting the %s an automation uses: got %v, want a refusal naming it", what, err)
		}
	}
	if _, err := s.SetAutomationStatus(ctx, a.ID, AutomationArchived); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteList(ctx, l.ID); err != nil {
		t.Errorf("deleting the list once the automation is archived: %v", err)
	}
}
