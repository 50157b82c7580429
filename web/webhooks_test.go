package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"herald/mailer/smtptest"
	"herald/scheduler/netguard"
	"herald/scheduler/webhooks"
	"herald/store"
)

// hookSink is a webhook receiver on loopback that keeps what it is sent.
type hookSink struct {
	*httptest.Server
	mu   sync.Mutex
	got  []map[string]any
	code int
}

func newHookSink(t *testing.T) *hookSink {
	k := &hookSink{code: http.StatusNoContent}
	k.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p map[string]any
		json.NewDecoder(r.Body).Decode(&p)
		k.mu.Lock()
		k.got = append(k.got, p)
		code := k.code
		k.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(k.Close)
	return k
}

func (k *hookSink) types() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []string
	for _, p := range k.got {
		out = append(out, p["type"].(string))
	}
	return out
}

// runDeliverer runs a webhook deliverer on the harness's store, allowed to
// reach loopback, until the test ends.
func runDeliverer(t *testing.T, h *harness) *webhooks.Deliverer {
	t.Helper()
	d, err := webhooks.New(webhooks.Config{Store: h.st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Idle: 20 * time.Millisecond,
		Guard: &netguard.Guard{Allowed: func(host string) bool { return host == "127.0.0.1" }}})
	if err != nil {
		t.Fatal(err)
	}
	h.srv.webhooks = d
	runWorker(t, d)
	return d
}

func TestWebhooksAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeAdmin)
	sink := newHookSink(t)

	// Loopback is refused until allowed.
	code, out := h.api(key, http.MethodPost, "/api/v1/webhooks", map[string]any{"url": sink.URL + "/in", "events": []string{"contact.created"}})
	if _, f := audError(out); code != http.StatusUnprocessableEntity || !strings.Contains(fmt.Sprint(f["url"]), "not a public address") {
		t.Fatalf("a loopback endpoint: got %d %v, want 422 naming url", code, out)
	}
	for _, bad := range []map[string]any{
		{"url": "ftp://example.com/x", "events": []string{"contact.created"}},
		{"url": "https://user:pw@example.com/x", "events": []string{"contact.created"}},
		{"url": "https://example.com/x", "events": []string{"contact.exploded"}},
		{"url": "https://example.com/x", "events": []string{}},
		{"url": "https://169.254.169.254/latest/meta-data", "events": []string{"contact.created"}},
		{"url": "https://[fd00::1]/x", "events": []string{"contact.created"}},
	} {
		if code, out := h.api(key, http.MethodPost, "/api/v1/webhooks", bad); code != http.StatusUnprocessableEntity {
			t.Errorf("create %v: got %d %v, want 422", bad, code, out)
		}
	}
	if code, out := h.api(key, http.MethodPatch, "/api/v1/settings", map[string]any{"allowed_hosts": []string{"127.0.0.1", "crm.internal"}}); code != http.StatusOK {
		t.Fatalf("allow hosts: got %d %v", code, out)
	}
	code, out = h.api(key, http.MethodPost, "/api/v1/webhooks", map[string]any{"url": sink.URL + "/in", "description": "CRM", "events": []string{"contact.created", "contact.deleted"}})
	w := audData(t, out)
	secret, _ := w["secret"].(string)
	if code != http.StatusCreated || !strings.HasPrefix(secret, "whsec_") || w["enabled"] != true {
		t.Fatalf("create: got %d %v", code, out)
	}
	path := "/api/v1/webhooks/" + fmt.Sprint(w["id"])
	if code, out := h.api(key, http.MethodGet, path+"/secret", nil); code != http.StatusOK || audData(t, out)["secret"] != secret {
		t.Fatalf("secret: got %d %v", code, out)
	}
	if code, out := h.api(h.apiKey(store.ScopeWrite), http.MethodGet, path+"/secret", nil); code != http.StatusForbidden {
		t.Fatalf("a write key reading the secret: got %d %v, want 403", code, out)
	}

	runDeliverer(t, h)
	ann := audSeedContact(t, h, "ann@example.com", nil, nil)
	if code, _ := h.api(h.apiKey(store.ScopeWrite), http.MethodDelete, "/api/v1/contacts/"+itoa(ann), nil); code != http.StatusNoContent {
		t.Fatalf("delete contact: got %d", code)
	}
	waitFor(t, "two events", func() bool { return len(sink.types()) == 2 })
	// Deliveries run side by side: they may arrive in either order.
	if got := slices.Sorted(slices.Values(sink.types())); !slices.Equal(got, []string{"contact.created", "contact.deleted"}) {
		t.Fatalf("events: got %v", got)
	}

	// The test event, and the delivery log by cursor.
	code, out = h.api(key, http.MethodPost, path+"/test", nil)
	test := audData(t, out)
	if code != http.StatusAccepted || test["event_type"] != "webhook.test" {
		t.Fatalf("test event: got %d %v", code, out)
	}
	waitFor(t, "the test event", func() bool { return len(sink.types()) == 3 })
	dpath := path + "/deliveries/" + fmt.Sprint(test["id"])
	waitFor(t, "the test delivered", func() bool {
		_, out := h.api(key, http.MethodGet, dpath, nil)
		return audData(t, out)["status"] == "delivered"
	})
	_, out = h.api(key, http.MethodGet, dpath, nil)
	log := audData(t, out)["attempts_log"].([]any)
	if a := log[0].(map[string]any); len(log) != 1 || a["status_code"] != 204.0 || !strings.Contains(a["request"].(string), "Webhook-Signature: v1,") {
		t.Fatalf("attempts log: got %v", log)
	}
	code, out = h.api(key, http.MethodGet, path+"/deliveries?after=0&per_page=2&order=asc", nil)
	if items := out["data"].([]any); code != http.StatusOK || len(items) != 2 || out["meta"].(map[string]any)["next_after"] == nil {
		t.Fatalf("deliveries by cursor: got %d %v", code, out)
	}
	if code, out := h.api(key, http.MethodGet, path+"/deliveries?status=delivered&type=webhook.test", nil); code != http.StatusOK || len(out["data"].([]any)) != 1 {
		t.Fatalf("deliveries filtered: got %d %v", code, out)
	}

	// Redeliver sends the same event again, with the same id.
	if code, out := h.api(key, http.MethodPost, dpath+"/redeliver", nil); code != http.StatusAccepted {
		t.Fatalf("redeliver: got %d %v", code, out)
	}
	waitFor(t, "the redelivery", func() bool { return len(sink.types()) == 4 })
	sink.mu.Lock()
	same := sink.got[2]["id"] == sink.got[3]["id"]
	sink.mu.Unlock()
	if !same {
		t.Errorf("redelivered event: want the same id as the first delivery")
	}

	// Disabled, it is sent nothing; roll gives a new secret.
	if code, out := h.api(key, http.MethodPatch, path, map[string]any{"enabled": false}); code != http.StatusOK || audData(t, out)["enabled"] != false {
		t.Fatalf("disable: got %d %v", code, out)
	}
	audSeedContact(t, h, "bob@example.com", nil, nil)
	code, out = h.api(key, http.MethodPost, path+"/roll-secret", nil)
	if fresh := audData(t, out)["secret"]; code != http.StatusOK || fresh == secret {
		t.Fatalf("roll: got %d %v", code, out)
	}
	if code, out := h.api(key, http.MethodGet, path, nil); code != http.StatusOK || audData(t, out)["old_secret_until"] == nil {
		t.Fatalf("after a roll: got %d %v, want old_secret_until", code, out)
	}
	time.Sleep(100 * time.Millisecond)
	if got := sink.types(); len(got) != 4 {
		t.Fatalf("a disabled endpoint was sent %v", got[4:])
	}
	if code, _ := h.api(key, http.MethodDelete, path, nil); code != http.StatusNoContent {
		t.Fatalf("delete: got %d", code)
	}
}

// TestWebhookEmailEvents: a tracked campaign's message is sent, opened and
// clicked, and the endpoint hears each.
func TestWebhookEmailEvents(t *testing.T) {
	t.Parallel()
	h, _, mail := sendingHarness(t, smtptest.Options{})
	clock := h.setClock()
	ctx := context.Background()
	wh, _, err := h.st.CreateWebhook(ctx, store.WebhookInput{URL: new("https://hooks.example.com/in"),
		Events: &[]string{store.EventEmailSent, store.EventEmailOpened, store.EventEmailClicked, store.EventCampaignStarted, store.EventCampaignSent}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	id, msgs := sentTracked(t, h, mail, 1, store.Tracking{Opens: true, Clicks: true})
	clock.Advance(time.Hour)
	person := map[string]string{"User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15"}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	h.request(noRedirect, http.MethodGet, msgs[0]["o"][0], nil, person).Body.Close()
	h.request(noRedirect, http.MethodGet, msgs[0]["c"][0], nil, person).Body.Close()
	var events []map[string]any
	waitFor(t, "the campaign's events", func() bool {
		ds, _, err := h.st.Deliveries(ctx, wh.ID, store.DeliveryFilter{}, 100, 0)
		if err != nil {
			t.Fatal(err)
		}
		events = events[:0]
		for _, d := range ds {
			var p map[string]any
			json.Unmarshal(d.Payload, &p)
			events = append(events, p)
		}
		return len(events) >= 5
	})
	byType := map[string]map[string]any{}
	for _, e := range events {
		byType[e["type"].(string)] = e["data"].(map[string]any)
	}
	if byType["campaign.started"]["id"] != float64(id) || byType["campaign.sent"]["status"] != "sent" {
		t.Errorf("campaign events: got %v", byType)
	}
	if s := byType["email.sent"]; s["email"] != "reader00@example.com" || s["campaign_id"] != float64(id) {
		t.Errorf("email.sent: got %v", s)
	}
	if o := byType["email.opened"]; o["email"] != "reader00@example.com" || o["machine"] == true {
		t.Errorf("email.opened: got %v", o)
	}
	if c := byType["email.clicked"]; !strings.HasPrefix(fmt.Sprint(c["url"]), "https://shop.example/loaf") {
		t.Errorf("email.clicked: got %v", c)
	}
}

// TestWebhookPages: the owner adds an endpoint, sees its secret, sends a
// test event and opens its delivery.
func TestWebhookPages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	sink := newHookSink(t)
	runDeliverer(t, h)
	resp := h.postForm("/settings/webhooks", url.Values{"url": {sink.URL + "/in"}, "events": {"contact.created"}}, nil)
	if page := body(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "not a public address") {
		t.Fatalf("a loopback endpoint: got %d", resp.StatusCode)
	}
	resp = h.postForm("/settings/webhooks/allowed-hosts", url.Values{"allowed_hosts": {"127.0.0.1\nnot a host!"}}, nil)
	if page := body(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "not a host name") {
		t.Fatalf("a bad host: got %d", resp.StatusCode)
	}
	if resp := h.postForm("/settings/webhooks/allowed-hosts", url.Values{"allowed_hosts": {"127.0.0.1"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("allowed hosts: got %d", resp.StatusCode)
	}
	resp = h.postForm("/settings/webhooks", url.Values{"url": {sink.URL + "/in"}, "description": {"CRM"}, "events": {"contact.created", "email.bounced"}}, nil)
	page := body(t, resp)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(page, `id="new-webhook-secret">whsec_`) {
		t.Fatalf("add endpoint: got %d", resp.StatusCode)
	}
	ws, _ := h.st.Webhooks(context.Background())
	path := "/settings/webhooks/" + itoa(ws[0].ID)
	resp = h.postForm(path+"/test", url.Values{}, nil)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, path+"/deliveries/") {
		t.Fatalf("test event: got %d to %q", resp.StatusCode, loc)
	}
	waitFor(t, "the test event", func() bool { return len(sink.types()) == 1 })
	waitFor(t, "its log", func() bool { return strings.Contains(body(t, h.get(loc)), "Answered <strong>204</strong>") })
	list := body(t, h.get(path))
	if !strings.Contains(list, "webhook.test") || !strings.Contains(list, "delivered") || !strings.Contains(list, "whsec_") {
		t.Fatalf("endpoint page: want the delivery and the secret")
	}
	if resp := h.postForm(path, url.Values{"url": {sink.URL + "/in"}, "events": {}, "enabled": {"1"}}, nil); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(body(t, resp), "Choose at least one event type") {
		t.Fatalf("no events: got %d", resp.StatusCode)
	}
}

// waitFor waits up to 20 seconds for ok.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
