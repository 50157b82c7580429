package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserAPIKeyAndReference: the owner makes a send-only key, opens
// the API reference, finds the call that sends a message with a curl
// example for this install, and the key works for that call and no other.
func TestBrowserAPIKeyAndReference(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	h := newHarness(t)
	h.createOwner()
	base := h.ts.URL
	var secret, curl, scopes string
	var opOpen bool
	err := chromedp.Do(ctx,
		signInAs(base, ownerEmail, ownerPassword),

		chromedp.Navigate(base+"/settings/api-keys"),
		chromedp.WaitVisible(chromedp.CSS(`#key_name`)),
		chromedp.SendKeys(chromedp.CSS(`#key_name`), "Shop server"),
		chromedp.Click(chromedp.CSS(`input[name=scopes][value=read]`)), // on by default: off
		chromedp.Click(chromedp.CSS(`input[name=scopes][value=send]`)),
		chromedp.SendKeys(chromedp.CSS(`#key_send`), "25"),
		chromedp.Click(chromedp.Search(`//button[text()="Create key"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-api-key`)),
		into(&secret, chromedp.Text(chromedp.CSS(`#new-api-key`))),
		into(&scopes, chromedp.Text(chromedp.CSS(`table tbody tr td:nth-child(3)`))),

		chromedp.Click(chromedp.Search(`//a[text()="API reference"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#postMessages`)),
		chromedp.Click(chromedp.CSS(`#postMessages > summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#postMessages-curl`)),
		into(&opOpen, chromedp.Evaluate[bool](`document.getElementById("postMessages").open`)),
		into(&curl, chromedp.Text(chromedp.CSS(`#postMessages-curl`))),
		screenshot("api-reference"),
	)
	if err != nil {
		t.Fatalf("browser flow: %v", err)
	}
	if !strings.HasPrefix(secret, "herald_") || scopes != "send" {
		t.Fatalf("new key: got %q with scopes %q, want a key with send only", secret, scopes)
	}
	if !opOpen || !strings.Contains(curl, "curl -X POST '"+base+"/api/v1/messages'") || !strings.Contains(curl, `"to": "ann@example.com"`) {
		t.Fatalf("curl example: got %q, want a POST to this install's /api/v1/messages with a body", curl)
	}
	// With no relay yet, the message is refused for that, past the key's
	// scope and under its own limit.
	resp, out := h.apiWith(secret, http.MethodPost, "/api/v1/messages", map[string]any{"to": "ann@example.com", "subject": "Hi", "text": "Hello"}, nil)
	if _, f := audError(out); resp.StatusCode != http.StatusUnprocessableEntity || f["relay_id"] == nil || resp.Header.Get("X-RateLimit-Limit") != "25" {
		t.Fatalf("the key sends: got %d %v, limit %q; want it let through under its own 25 a second", resp.StatusCode, out, resp.Header.Get("X-RateLimit-Limit"))
	}
	if code, _ := h.api(secret, http.MethodGet, "/api/v1/contacts", nil); code != http.StatusForbidden {
		t.Fatalf("the key reads contacts: got %d, want 403", code)
	}
}
