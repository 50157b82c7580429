package web

import (
	"context"
	"fmt"
	"net/http"
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
