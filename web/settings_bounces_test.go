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
	mailbox := map[string]any{"host": "pop.example.com", "tls": "none", "username": "bounces", "password": "s3cret"}
	if code, out := h.api(full, http.MethodPut, "/api/v1/settings/feedback", map[string]any{"mailbox": mailbox}); code != 422 {
		t.Errorf("a plain-text mailbox across the network: %d %v", code, out)
	}
	mailbox["tls"] = "tls"
	code, out = h.api(full, http.MethodPut, "/api/v1/settings/feedback", map[string]any{"mailbox": mailbox})
	if mb, _ := out["data"].(map[string]any)["mailbox"].(map[string]any); code != 200 || mb["password_set"] != true || mb["password"] != nil {
		t.Errorf("PUT mailbox: %d %v", code, out)
	}
	cfg, on, err := h.srv.out.MailboxConfig(context.Background())
	if !on || err != nil || cfg.Protocol != "pop3" || cfg.Host != "pop.example.com" || cfg.TLS != "tls" || cfg.Username != "bounces" || cfg.Password != "s3cret" {
		t.Errorf("the poller's settings: %+v %v %v", cfg, on, err)
	}
	for _, bad := range []map[string]any{{"protocol": "smtp"}, {"protocol": "imap", "folder": "Réponses"}, {"protocol": "imap", "folder": "Bounces & Co"}} {
		if code, out := h.api(full, http.MethodPut, "/api/v1/settings/feedback", map[string]any{"mailbox": bad}); code != 422 {
			t.Errorf("mailbox %v: %d %v", bad, code, out)
		}
	}
	code, out = h.api(full, http.MethodPut, "/api/v1/settings/feedback", map[string]any{"mailbox": map[string]any{"protocol": "IMAP", "host": "imap.example.com"}})
	if mb, _ := out["data"].(map[string]any)["mailbox"].(map[string]any); code != 200 || mb["protocol"] != "imap" || mb["folder"] != "INBOX" {
		t.Errorf("PUT an IMAP mailbox: %d %v", code, out)
	}
	if cfg, on, _ := h.srv.out.MailboxConfig(context.Background()); !on || cfg.Protocol != "imap" || cfg.Folder != "INBOX" || cfg.Password != "s3cret" {
		t.Errorf("the poller's settings for IMAP: %+v", cfg)
	}
	ses, err := h.st.CreateRelay(context.Background(), store.RelayInput{Name: "SES", Kind: "ses", Region: "eu-west-1", MaxConnections: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, out = h.api(full, http.MethodGet, "/api/v1/settings/feedback", nil)
	if urls, _ := out["data"].(map[string]any)["ses_urls"].([]any); len(urls) != 1 || urls[0].(map[string]any)["url"] != h.ts.URL+"/hooks/ses/"+ses.FeedbackToken {
		t.Errorf("GET feedback settings: SES addresses %v", out)
	}
	g, _ := h.st.General(context.Background())
	if g.BounceDomain != "bounces.bakery.test" || g.SoftBounceLimit != 5 || g.BaseURL != h.ts.URL {
		t.Errorf("general settings after saving bounce settings: %+v", g)
	}

	h.signIn()
	if page := body(t, h.get("/settings/bounces")); !strings.Contains(page, `<option value="imap" selected>`) {
		t.Errorf("the page does not show the IMAP mailbox saved:\n%s", page)
	}
	page := body(t, h.get("/settings/bounces"))
	if !strings.Contains(page, data["postmark_url"].(string)) || !strings.Contains(page, "A key is saved") {
		t.Errorf("the page does not show the webhook addresses or the saved key:\n%s", page)
	}
	resp := h.postForm("/settings/bounces", url.Values{"bounce_domain": {""}, "soft_bounce_limit": {"3"}, "sendgrid_key": {"abc"},
		"mailbox_protocol": {"imap"}, "mailbox_host": {"imap.example.com"}, "mailbox_tls": {"starttls"}, "mailbox_username": {"bounces"},
		"mailbox_folder": {"Bounces"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("saving the page: %d %s", resp.StatusCode, body(t, resp))
	}
	hooks, _ := h.st.FeedbackHooks(context.Background())
	if g, _ := h.st.General(context.Background()); g.BounceDomain != "" || hooks.SendGridKey != "abc" || hooks.MailgunKey != "key-1" ||
		hooks.Mailbox.TLS != "starttls" || hooks.Mailbox.Password != "s3cret" || hooks.Mailbox.Protocol != "imap" || hooks.Mailbox.Folder != "Bounces" {
		t.Errorf("after saving the page: domain %q, keys %q %q, mailbox %+v", g.BounceDomain, hooks.SendGridKey, hooks.MailgunKey, hooks.Mailbox)
	}
}
