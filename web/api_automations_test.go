package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"herald/store"
)

// TestAPIAutomationEntryChangesKeepTheRest: a change to some entry rules
// keeps the others, the unsubscribe rule of a new automation above all;
// and an automation's email step's campaign cannot be cancelled from the
// campaigns API.
func TestAPIAutomationEntryChangesKeepTheRest(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	code, out := h.api(key, http.MethodPost, "/api/v1/automations", map[string]any{"name": "Welcome", "entry": map[string]any{"again": true},
		"flow": map[string]any{"steps": []any{map[string]any{"kind": "add_tag", "tag": "x"}}}})
	a := audData(t, out)
	if code != http.StatusCreated || a["entry"].(map[string]any)["exit_on_unsubscribe"] != true {
		t.Fatalf("create: got %d %v, want exit_on_unsubscribe kept true", code, out)
	}
	path := "/api/v1/automations/" + itoa(int64(a["id"].(float64)))
	code, out = h.api(key, http.MethodPatch, path, map[string]any{"entry": map[string]any{"every_days": 7}})
	e := audData(t, out)["entry"].(map[string]any)
	if code != http.StatusOK || e["again"] != true || e["exit_on_unsubscribe"] != true || e["every_days"] != float64(7) {
		t.Fatalf("patch: got %d %v, want again and exit_on_unsubscribe kept", code, out)
	}
	// A step campaign belongs to its automation.
	ctx := context.Background()
	if err := h.st.SetStepEmails(ctx, int64(a["id"].(float64)), []store.StepEmailContent{{StepID: 1, Name: "Welcome · step 1", Frozen: "{}"}}); err != nil {
		t.Fatal(err)
	}
	cs, err := h.st.StepCampaigns(ctx, int64(a["id"].(float64)))
	if err != nil || cs[1] == 0 {
		t.Fatalf("step campaigns: %v %v", cs, err)
	}
	code, out = h.api(key, http.MethodPost, "/api/v1/campaigns/"+itoa(cs[1])+"/cancel", nil)
	if code != http.StatusUnprocessableEntity || !strings.Contains(fmt.Sprint(out), "automation") {
		t.Errorf("cancelling a step's campaign: got %d %v, want 422 naming the automation", code, out)
	}
}

// TestCampaignEditorExtras: the editor's A/B, local time and repeat
// sections save what they say, refuse what they cannot take with the
// field's message, and clear when emptied.
func TestCampaignEditorExtras(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	ctx := context.Background()
	name := "June"
	x, err := h.st.CreateCampaign(ctx, store.CampaignInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	path := "/campaigns/" + itoa(x.ID)
	page := body(t, h.get(path))
	token := csrfFrom(t, page)
	form := url.Values{"_csrf": {token}, "name": {"June"}, "extras": {"1"}, "ab_on": {"1"}, "ab_percent": {"30"}, "ab_metric": {"click"},
		"ab_wait": {"90"}, "ab_subject_1": {"Warm croissants"}, "recur_every": {""}, "local_at": {""}}
	if resp := h.postForm(path, form, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save the test: got %d %s", resp.StatusCode, body(t, resp))
	}
	got, _ := h.st.Campaign(ctx, x.ID)
	if got.AB == nil || len(got.AB.Variants) != 2 || got.AB.Variants[1].Subject != "Warm croissants" || got.AB.TestPercent != 30 ||
		got.AB.Metric != store.MetricClick || got.AB.WaitMinutes != 90 {
		t.Fatalf("got A/B %+v, want B with its subject, 30%%, click, 90 minutes", got.AB)
	}
	// An A/B test cannot also repeat: the form says so beside the field.
	form.Set("recur_every", "daily")
	form.Set("recur_at", "07:30")
	if resp := h.postForm(path, form, nil); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body(t, resp), "cannot also be an A/B test") {
		t.Fatalf("an A/B test that repeats: got %d, want 422 saying why", resp.StatusCode)
	}
	// Off the test, on a schedule and a local time.
	form.Del("ab_on")
	form.Set("local_at", "09:00")
	if resp := h.postForm(path, form, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save the schedule: got %d %s", resp.StatusCode, body(t, resp))
	}
	got, _ = h.st.Campaign(ctx, x.ID)
	if got.AB != nil || got.Recurrence == nil || got.Recurrence.Every != store.RecurDaily || got.Recurrence.At != "07:30" || got.LocalAt != "09:00" {
		t.Fatalf("got A/B %+v, recurrence %+v, local %q; want no test, daily at 07:30, 09:00", got.AB, got.Recurrence, got.LocalAt)
	}
	if page := body(t, h.get(path)); !strings.Contains(page, "Save and start the schedule") {
		t.Error("a repeating campaign's editor offers no way to start its schedule")
	}
	// A variant with a body set through the API keeps its slot and its body
	// when the editor saves.
	if _, err := h.st.UpdateCampaign(ctx, x.ID, store.CampaignInput{Recurrence: &store.Recurrence{}, LocalAt: new(string),
		AB: &store.ABTest{Variants: []store.ABVariant{{}, {Body: "B's own body"}, {Subject: "C"}}, TestPercent: 20, Metric: store.MetricOpen}}); err != nil {
		t.Fatal(err)
	}
	page = body(t, h.get(path))
	if !strings.Contains(page, `name="ab_keep_1"`) {
		t.Fatal("the editor does not keep the slot of a variant with a body of its own")
	}
	form = url.Values{"_csrf": {token}, "name": {"June"}, "extras": {"1"}, "ab_on": {"1"}, "ab_percent": {"20"}, "ab_metric": {"open"},
		"ab_wait": {"0"}, "ab_keep_1": {"1"}, "ab_subject_2": {"C"}}
	if resp := h.postForm(path, form, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save with a body-only variant: got %d %s", resp.StatusCode, body(t, resp))
	}
	got, _ = h.st.Campaign(ctx, x.ID)
	if got.AB == nil || len(got.AB.Variants) != 3 || got.AB.Variants[1].Body != "B's own body" || got.AB.Variants[2].Subject != "C" {
		t.Errorf("got variants %+v, want B with its body and C with its subject", got.AB)
	}
}
