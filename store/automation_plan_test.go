package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
// webhook endpoint an automation names (in its trigger, a step, or a list
// condition of a step's rule) is kept until the automation is changed or
// archived; a number that only looks like one (an event property named
// list_id) keeps nothing.
func TestWhatAnAutomationUsesCannotBeDeleted(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	var lists []List
	for _, n := range []string{"News", "Buyers", "Other"} {
		name := n
		l, err := s.CreateList(ctx, ListInput{Name: &name})
		if err != nil {
			t.Fatal(err)
		}
		lists = append(lists, l)
	}
	url := "https://crm.example/hook"
	hook, _, err := s.CreateWebhook(ctx, WebhookInput{URL: &url, Events: &[]string{EventContactCreated}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rule := Rule{Match: "any", Conditions: []Rule{{Field: "list", Op: "eq", Value: json.RawMessage(fmt.Sprint(lists[1].ID))},
		{Field: "event", Op: "at_least", Event: "order", Where: map[string]any{"list_id": float64(lists[2].ID)}, Days: 30, Value: json.RawMessage(`1`)}}}
	flow := Flow{Steps: []Step{{Kind: StepWebhook, WebhookID: hook.ID}, {Kind: StepCondition, Rule: &rule, Branches: [][]Step{{{Kind: StepExit}}, {{Kind: StepExit}}}}}}
	name := "Welcome"
	a, err := s.CreateAutomation(ctx, AutomationInput{Name: &name, Trigger: &Trigger{Kind: TriggerList, ListID: lists[0].ID}, Flow: &flow})
	if err != nil {
		t.Fatal(err)
	}
	for what, del := range map[string]func() error{
		"the trigger's list":   func() error { return s.DeleteList(ctx, lists[0].ID) },
		"a condition's list":   func() error { return s.DeleteList(ctx, lists[1].ID) },
		"the webhook endpoint": func() error { return s.DeleteWebhook(ctx, hook.ID) },
	} {
		var ve *ValidationError
		if err := del(); !errors.As(err, &ve) || !strings.Contains(ve.Fields["id"], "Welcome") {
			t.Errorf("deleting %s: got %v, want a refusal naming the automation", what, err)
		}
	}
	if err := s.DeleteList(ctx, lists[2].ID); err != nil {
		t.Errorf("deleting a list only an event property's number looks like: %v", err)
	}
	if _, err := s.SetAutomationStatus(ctx, a.ID, AutomationArchived); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteList(ctx, lists[0].ID); err != nil {
		t.Errorf("deleting the list once the automation is archived: %v", err)
	}
}
