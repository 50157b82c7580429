package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"herald/store"
)

// TestBounceSettings sets the bounce domain and the provider keys through
// the API and the page, and checks what each shows back.
func TestBounceSettings(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.setBaseURL()
	h.srv.generalCache.Store(nil)
	full := h.apiKey(store.ScopeFull)
	if code, _ := h.api(h.apiKey(store.ScopeRead), http.MethodGet, "/api/v1/settings/feedback", nil); code != http.StatusForbidden {
		t.Errorf("a read-only key read the webhook secrets: %d", code)
	}
	code, out := h.api(full, http.MethodPut, "/api/v1/settings/feedback",
		map[string]any{"bounce_domain": "Bounces.Bakery.test", "soft_bounce_limit": 5, "mailgun_key": "key-1"})
	data, _ := out["data"].(map[string]any)
	if code != 200 || data["bounce_domain"] != "bounces.bakery.test" || data["mailgun_key_set"] != true || data["sendgrid_key_set"] != false ||
		!strings.HasPrefix(data["mailgun_url"].(string), h.ts.URL+"/hooks/mailgun/") {
		t.Fatalf("PUT feedback settings: %d %v", code, out)
	}
	if code, out := h.api(full, http.MethodPut, "/api/v1/settings/feedback", map[string]any{"bounce_domain": "not a domain"}); code != 422 {
		t.Errorf("a bad bounce domain: %d %v", code, out)
	}
	g, _ := h.st.General(context.Background())
	if g.BounceDomain != "bounces.bakery.test" || g.SoftBounceLimit != 5 || g.BaseURL != h.ts.URL {
		t.Errorf("general settings after saving bounce settings: %+v", g)
	}

	h.signIn()
	page := body(t, h.get("/settings/bounces"))
	if !strings.Contains(page, data["postmark_url"].(string)) || !strings.Contains(page, "A key is saved") {
		t.Errorf("the page does not show the webhook addresses or the saved key:\n%s", page)
	}
	resp := h.postForm("/settings/bounces", url.Values{"bounce_domain": {""}, "soft_bounce_limit": {"3"}, "sendgrid_key": {"abc"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("saving the page: %d %s", resp.StatusCode, body(t, resp))
	}
	hooks, _ := h.st.FeedbackHooks(context.Background())
	if g, _ := h.st.General(context.Background()); g.BounceDomain != "" || hooks.SendGridKey != "abc" || hooks.MailgunKey != "key-1" {
		t.Errorf("after saving the page: domain %q, keys %q %q", g.BounceDomain, hooks.SendGridKey, hooks.MailgunKey)
	}
}
