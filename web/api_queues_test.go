package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"herald/scheduler"
	"herald/store"
)

// TestQueuesAPIAndPage: a failed transactional message shows in its
// queue's counts and failed items, and is retried; the system lane is
// paused (which every page then says) and resumed; the transactional lane
// is throttled, never paused; a queue or state that is none is refused.
func TestQueuesAPIAndPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *harnessConfig) {
		c.Jobs = func() []scheduler.JobStatus {
			return []scheduler.JobStatus{{Name: "housekeeping", Spec: "@every 1h", NextRun: time.Now().Add(time.Hour)}}
		}
	})
	h.signIn()
	ctx := context.Background()
	m, _, err := h.st.CreateMessage(ctx, store.NewMessage{Message: store.Message{ToEmail: "ann@example.com", FromEmail: "shop@example.com", Subject: "Receipt", Text: "Thanks"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.ClaimMessages(ctx, 10, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := h.st.RecordMessageOutcome(ctx, store.MessageOutcome{ID: m.ID, Status: store.MessageFailed, Code: 550, Response: "550 mailbox unavailable"}); err != nil {
		t.Fatal(err)
	}
	key := h.apiKey(store.ScopeAdmin)
	code, out := h.api(key, http.MethodGet, "/api/v1/queues", nil)
	queues, _ := out["data"].([]any)
	if code != http.StatusOK || len(queues) != len(store.Queues)+1 || queues[len(queues)-1].(map[string]any)["name"] != "cron" {
		t.Fatalf("queues: %d %v", code, out)
	}
	first := queues[0].(map[string]any)
	counts := first["counts"].(map[string]any)
	if first["name"] != "transactional" || first["priority"] != 1.0 || counts["failed"] != 1.0 || first["last_error"] != "550 mailbox unavailable" || first["pausable"] != false {
		t.Errorf("transactional queue: %v", first)
	}
	if code, out := h.api(key, http.MethodGet, "/api/v1/queues/transactional/items?state=failed&offset=1", nil); code != http.StatusOK || len(out["data"].([]any)) != 0 {
		t.Errorf("the page after the only failed item: %d %v", code, out)
	}
	if code, _ := h.api(key, http.MethodGet, "/api/v1/queues/transactional/items?offset=-1", nil); code != http.StatusBadRequest {
		t.Errorf("a negative offset: %d, want 400", code)
	}
	code, out = h.api(key, http.MethodGet, "/api/v1/queues/transactional/items?state=failed", nil)
	items, _ := out["data"].([]any)
	if code != http.StatusOK || len(items) != 1 || items[0].(map[string]any)["title"] != "ann@example.com" {
		t.Errorf("failed items: %d %v", code, out)
	}
	for _, body := range []map[string]any{{}, {"id": 0}, {"id": m.ID, "all": true}} {
		if code, out := h.api(key, http.MethodPost, "/api/v1/queues/transactional/retry", body); code != http.StatusUnprocessableEntity {
			t.Errorf("retry with %v: %d %v, want 422 asking for an id or all", body, code, out)
		}
	}
	code, out = h.api(key, http.MethodPost, "/api/v1/queues/transactional/retry", map[string]any{"id": m.ID})
	if code != http.StatusOK || audData(t, out)["count"] != 1.0 {
		t.Errorf("retry: %d %v", code, out)
	}
	if got, _ := h.st.Message(ctx, m.ID); got.Status != store.MessageQueued {
		t.Errorf("retried message: %s", got.Status)
	}
	if code, out := h.api(key, http.MethodPost, "/api/v1/queues/transactional/pause", nil); code != http.StatusConflict {
		t.Errorf("pausing the transactional lane: %d %v, want 409", code, out)
	}
	code, out = h.api(key, http.MethodPost, "/api/v1/queues/transactional/throttle", map[string]any{"per_minute": 120})
	if code != http.StatusOK || audData(t, out)["per_minute"] != 120.0 {
		t.Errorf("throttle: %d %v", code, out)
	}
	code, out = h.api(key, http.MethodPost, "/api/v1/queues/system/pause", nil)
	if code != http.StatusOK || audData(t, out)["paused"] != true || audData(t, out)["paused_by"] == "" {
		t.Errorf("pause: %d %v", code, out)
	}
	code, out = h.api(key, http.MethodPost, "/api/v1/queues/cron/pause", nil)
	if code != http.StatusOK || audData(t, out)["paused"] != true {
		t.Errorf("pause the cron jobs: %d %v", code, out)
	}
	if code, out := h.api(key, http.MethodGet, "/api/v1/queues/cron", nil); code != http.StatusOK || audData(t, out)["paused"] != true {
		t.Errorf("the cron jobs, paused: %d %v", code, out)
	}
	if body := okPage(t, h.get("/settings/jobs")); !strings.Contains(body, "Scheduled jobs") || !strings.Contains(body, `action="/settings/jobs/cron/pause"`) ||
		!strings.Contains(body, "Skipped while paused") {
		t.Errorf("the jobs page does not offer to resume the cron jobs, or still shows their next runs")
	}
	if code, _ := h.api(key, http.MethodPost, "/api/v1/queues/cron/resume", nil); code != http.StatusOK {
		t.Errorf("resume the cron jobs: %d", code)
	}
	if code, _ := h.api(key, http.MethodGet, "/api/v1/queues/nope", nil); code != http.StatusNotFound {
		t.Errorf("a queue that is none: %d, want 404", code)
	}
	if code, _ := h.api(key, http.MethodGet, "/api/v1/queues/system/items?state=lost", nil); code != http.StatusUnprocessableEntity {
		t.Errorf("a state that is none: %d, want 422", code)
	}
	if code, _ := h.api(h.apiKey(store.ScopeRead), http.MethodGet, "/api/v1/queues", nil); code != http.StatusForbidden {
		t.Errorf("a read key: %d, want 403", code)
	}

	// The pages: every page says what is paused; a queue's page resumes it.
	body := okPage(t, h.get("/contacts"))
	if !strings.Contains(body, `id="paused-queues"`) || !strings.Contains(body, "System mail") {
		t.Errorf("a page with the system lane paused does not say so")
	}
	body = okPage(t, h.get("/settings/jobs"))
	for _, want := range []string{"Transactional email", "Campaign sending", "Webhook deliveries", "Paused", "120 a minute at most"} {
		if !strings.Contains(body, want) {
			t.Errorf("jobs page: no %q", want)
		}
	}
	res := h.postForm("/settings/jobs/system/pause", url.Values{"paused": {"0"}}, nil)
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("resume from the page: %d", res.StatusCode)
	}
	if paused, _ := h.st.QueuePaused(ctx, store.QueueSystem); paused {
		t.Error("the system lane is still paused after the resume")
	}
	if body := okPage(t, h.get("/settings/jobs/transactional?state=waiting")); !strings.Contains(body, "ann@example.com") || !strings.Contains(body, "Throttle") {
		t.Errorf("the transactional queue's page lacks its waiting message or its throttle")
	}
}

// okPage reads a page that must have answered 200.
func okPage(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b := body(t, res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, b)
	}
	return b
}
