package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"herald/mailer/ses/sestest"
	"herald/mailer/smtptest"
	"herald/store"
)

func relayForm(name string, port int, password string) url.Values {
	return url.Values{"name": {name}, "host": {"127.0.0.1"}, "port": {fmt.Sprint(port)}, "tls": {"none"},
		"username": {"relayuser"}, "password": {password}, "max_connections": {"2"}, "rate_per_second": {"0"}, "enabled": {"1"}}
}

func TestRelayPagesAddTestEditDelete(t *testing.T) {
	t.Parallel()
	sink := smtptest.Start(t, smtptest.Options{Username: "relayuser", Password: "s3cret-relay-pass"})
	h := newHarness(t)
	h.signIn()
	ctx := context.Background()

	bad := relayForm("", 70000, "")
	bad.Set("tls", "ssl")
	resp := h.postForm("/settings/relays", bad, nil)
	page := body(t, resp)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("invalid relay: got %d, want 422", resp.StatusCode)
	}
	for _, want := range []string{"Give the relay a name", "Port must be between", "TLS must be"} {
		if !strings.Contains(page, want) {
			t.Errorf("invalid relay page lacks %q", want)
		}
	}

	resp = h.postForm("/settings/relays", relayForm("Loopback", sink.Port(), "s3cret-relay-pass"), nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add relay: got %d, want 303: %s", resp.StatusCode, body(t, resp))
	}
	loc := resp.Header.Get("Location")
	page = body(t, h.get(loc))
	if !strings.Contains(page, "Relay Loopback added") || strings.Contains(page, "s3cret-relay-pass") {
		t.Fatalf("relay page: want the flash and no password in the HTML")
	}
	if resp := h.postForm("/settings/relays", relayForm("loopback", sink.Port(), ""), nil); resp.StatusCode != http.StatusConflict {
		t.Fatalf("duplicate name: got %d, want 409", resp.StatusCode)
	}

	resp = h.postForm(loc+"/test", url.Values{"to": {"reader@example.com"}}, map[string]string{"HX-Request": "true"})
	frag := body(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(frag, "Test email sent to reader@example.com") || !strings.Contains(frag, "250") {
		t.Fatalf("test send: got %d %q", resp.StatusCode, frag)
	}
	msgs := sink.Wait(1, 5*time.Second)
	if len(msgs) != 1 || msgs[0].To[0] != "reader@example.com" || msgs[0].Auth != "relayuser" {
		t.Fatalf("sink received %+v, want one message to reader@example.com authenticated as relayuser", msgs)
	}

	// Saving with an empty password keeps the stored one.
	edit := relayForm("Loopback", sink.Port(), "")
	edit.Set("max_connections", "3")
	if resp := h.postForm(loc, edit, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit relay: got %d", resp.StatusCode)
	}
	relays, _ := h.st.Relays(ctx)
	if len(relays) != 1 || relays[0].MaxConnections != 3 || !relays[0].PasswordSet {
		t.Fatalf("after edit: got %+v, want 3 connections and the password kept", relays)
	}
	if pw, _ := h.st.RelayPassword(ctx, relays[0].ID); pw != "s3cret-relay-pass" {
		t.Fatalf("password after edit: got %q", pw)
	}

	if resp := h.postForm(loc+"/delete", url.Values{}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete relay: got %d", resp.StatusCode)
	}
	if relays, _ := h.st.Relays(ctx); len(relays) != 0 {
		t.Fatalf("relays after delete: got %d, want 0", len(relays))
	}
}

func TestRelayTestShowsTheServersRefusal(t *testing.T) {
	t.Parallel()
	sink := smtptest.Start(t, smtptest.Options{Username: "relayuser", Password: "right"})
	h := newHarness(t)
	h.signIn()
	resp := h.postForm("/settings/relays", relayForm("Loopback", sink.Port(), "wrong-password"), nil)
	loc := resp.Header.Get("Location")
	resp = h.postForm(loc+"/test", url.Values{"to": {"reader@example.com"}}, map[string]string{"HX-Request": "true"})
	frag := body(t, resp)
	if !strings.Contains(frag, "not sent") || !strings.Contains(frag, "535") {
		t.Fatalf("failed test send: got %q, want the 535 answer", frag)
	}
	if n := len(sink.Messages()); n != 0 {
		t.Fatalf("sink got %d messages, want 0", n)
	}
	resp = h.postForm(loc+"/test", url.Values{"to": {"not an address"}}, map[string]string{"HX-Request": "true"})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body(t, resp), "valid email address") {
		t.Fatalf("bad test address: got %d, want 422 with a message", resp.StatusCode)
	}
}

func TestRelayFormRefusesNonNumbersAndClearsAnOrphanedPassword(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	bad := relayForm("Odd", 2525, "pw-123")
	bad.Set("rate_per_second", "NaN")
	resp := h.postForm("/settings/relays", bad, nil)
	if page := body(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Type it again") || strings.Contains(page, "pw-123") {
		t.Fatalf("NaN rate: got %d, want 422 asking for the password again without showing it", resp.StatusCode)
	}
	resp = h.postForm("/settings/relays", relayForm("Odd", 2525, "pw-123"), nil)
	loc := resp.Header.Get("Location")
	noLogin := relayForm("Odd", 2525, "")
	noLogin.Set("username", "")
	if resp := h.postForm(loc, noLogin, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("clearing the username: got %d", resp.StatusCode)
	}
	rs, _ := h.st.Relays(context.Background())
	if len(rs) != 1 || rs[0].PasswordSet {
		t.Fatalf("after clearing the username: got %+v, want the password gone too", rs)
	}
}

func sesRelayForm(name, endpoint string) url.Values {
	return url.Values{"kind": {"ses"}, "name": {name}, "region": {"eu-west-1"}, "access_key_id": {"AKIDHERALDTEST"},
		"secret_access_key": {"ses-secret-456"}, "configuration_set": {""}, "endpoint": {endpoint}, "max_connections": {"3"},
		"rate_per_second": {"0"}, "daily_quota": {"5000"}, "warmup_days": {"14"}, "warmup_start": {"250"}, "enabled": {"1"}}
}

func TestRelayPagesChooseTheKind(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	list := body(t, h.get("/settings/relays"))
	for _, want := range []string{`href="/settings/relays/new?kind=smtp"`, `href="/settings/relays/new?kind=ses"`, "Add Amazon SES relay"} {
		if !strings.Contains(list, want) {
			t.Errorf("empty relay list lacks %q", want)
		}
	}
	smtp := body(t, h.get("/settings/relays/new"))
	if !strings.Contains(smtp, `name="host"`) || strings.Contains(smtp, `name="region"`) || !strings.Contains(smtp, `name="kind" value="smtp"`) {
		t.Errorf("the default new relay form is not SMTP's")
	}
	resp := h.get("/settings/relays/new?kind=ses")
	ses := body(t, resp)
	if resp.StatusCode != http.StatusOK || strings.Contains(ses, `name="host"`) || !strings.Contains(ses, `name="kind" value="ses"`) {
		t.Fatalf("SES form: got %d without the SES fields", resp.StatusCode)
	}
	for _, want := range []string{`name="region"`, `name="access_key_id"`, `name="secret_access_key"`, `name="configuration_set"`,
		"Advanced: endpoint", "Parallel sends", "IAM role", `name="daily_quota"`, `name="warmup_days"`, "First day&#39;s cap"} {
		if !strings.Contains(ses, want) {
			t.Errorf("SES form lacks %q", want)
		}
	}
	resp = h.request(h.client, http.MethodGet, "/settings/relays/new?kind=ses", nil, map[string]string{"HX-Request": "true"})
	frag := body(t, resp)
	if resp.StatusCode != http.StatusOK || strings.Contains(frag, "<html") || !strings.HasPrefix(strings.TrimSpace(frag), `<section class="card" id="relay-form-card"`) ||
		!strings.Contains(frag, `name="region"`) || !strings.Contains(resp.Header.Get("Vary"), "HX-Request") {
		t.Fatalf("htmx kind switch: got %d %q, want the SES form card alone", resp.StatusCode, frag)
	}
	resp = h.request(h.client, http.MethodGet, "/settings/relays/new?kind=ses", nil, map[string]string{"HX-Request": "true", "HX-History-Restore-Request": "true"})
	if page := body(t, resp); !strings.Contains(page, "<html") || !strings.Contains(page, `name="region"`) {
		t.Fatalf("htmx history restore: got %d without the whole page", resp.StatusCode)
	}
}

func TestRelayPagesSES(t *testing.T) {
	sestest.IsolateAWS(t)
	em := sestest.Start(t)
	h := newHarness(t)
	h.signIn()
	ctx := context.Background()

	bad := sesRelayForm("SES Ireland", "not a url")
	bad.Set("region", "Ireland")
	bad.Set("max_connections", "many")
	bad.Set("warmup_start", "0")
	resp := h.postForm("/settings/relays", bad, nil)
	page := body(t, resp)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("invalid SES relay: got %d, want 422", resp.StatusCode)
	}
	for _, want := range []string{"like us-east-1 or eu-west-1", "Give a URL like", "Enter a whole number", "Give the first day", "Type it again",
		`value="SES Ireland"`, `value="AKIDHERALDTEST"`, `value="not a url"`, `value="5000"`, `name="kind" value="ses"`} {
		if !strings.Contains(page, want) {
			t.Errorf("re-rendered SES form lacks %q", want)
		}
	}
	if strings.Contains(page, "ses-secret-456") {
		t.Errorf("the re-rendered form holds the typed secret")
	}
	noSecret := sesRelayForm("SES Ireland", em.URL)
	noSecret.Del("secret_access_key")
	if page := body(t, h.postForm("/settings/relays", noSecret, nil)); !strings.Contains(page, "Give the secret access key that goes with the access key id") {
		t.Errorf("a key id without a secret: the form does not ask for the secret")
	}
	if rs, _ := h.st.Relays(ctx); len(rs) != 0 {
		t.Fatalf("refused forms stored %d relays", len(rs))
	}

	resp = h.postForm("/settings/relays", sesRelayForm("SES Ireland", em.URL), nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add SES relay: got %d, want 303: %s", resp.StatusCode, body(t, resp))
	}
	loc := resp.Header.Get("Location")
	rs, _ := h.st.Relays(ctx)
	if len(rs) != 1 || rs[0].Kind != "ses" || rs[0].Region != "eu-west-1" || rs[0].Username != "AKIDHERALDTEST" || rs[0].Endpoint != em.URL ||
		rs[0].MaxConnections != 3 || rs[0].DailyQuota != 5000 || rs[0].WarmupDays != 14 || rs[0].WarmupStart != 250 || rs[0].WarmupFrom.IsZero() {
		t.Fatalf("stored: got %+v", rs)
	}
	if pw, _ := h.st.RelayPassword(ctx, rs[0].ID); pw != "ses-secret-456" {
		t.Fatalf("stored secret: got %q", pw)
	}
	page = body(t, h.get(loc))
	for _, want := range []string{"Relay SES Ireland added", "Amazon SES relay", `value="eu-west-1"`, "A secret is saved", "Warm-up started on", "shows its answer and reads the account"} {
		if !strings.Contains(page, want) {
			t.Errorf("SES relay page lacks %q", want)
		}
	}
	if strings.Contains(page, "ses-secret-456") {
		t.Errorf("the SES relay page holds the secret")
	}

	if _, err := h.st.CreateRelay(ctx, store.RelayInput{Name: "Office", Kind: "smtp", Host: "smtp.example.com", Port: 587, TLS: "starttls", MaxConnections: 2, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	list := body(t, h.get("/settings/relays"))
	for _, want := range []string{`<span class="relay-kind">Amazon SES</span>`, `<span class="relay-kind">SMTP</span>`, "eu-west-1", "5,000", "Warm-up over 14 days from 250 a day, since", "no limit"} {
		if !strings.Contains(list, want) {
			t.Errorf("relay list lacks %q", want)
		}
	}

	resp = h.postForm(loc+"/test", url.Values{"to": {"reader@example.com"}}, map[string]string{"HX-Request": "true"})
	frag := body(t, resp)
	for _, want := range []string{"Test email sent to reader@example.com", "SES message id", "200 messages per 24 hours", "3 sent in the last 24 hours", "SES sandbox"} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(frag, want) {
			t.Errorf("SES test send: got %d %q, want %q", resp.StatusCode, frag, want)
		}
	}
	resp = h.postForm(loc+"/test", url.Values{"to": {"second@example.com"}}, nil)
	if page := body(t, h.get(resp.Header.Get("Location"))); resp.StatusCode != http.StatusSeeOther || !strings.Contains(page, "Test email sent to second@example.com") || !strings.Contains(page, "200 messages per 24 hours") {
		t.Errorf("SES test send without htmx: got %d, want the answer and the quota in the flash", resp.StatusCode)
	}
	var to []string
	for _, e := range em.Emails(t) {
		to = append(to, strings.Join(e.Destination.To, ","))
	}
	if len(to) != 2 || !strings.Contains(to[0], "reader@example.com") || !strings.Contains(to[1], "second@example.com") {
		t.Fatalf("the emulator received mail to %q, want reader@ and second@example.com", to)
	}

	// An empty secret keeps the saved one; the form cannot change the kind.
	edit := sesRelayForm("SES Ireland", em.URL)
	edit.Set("secret_access_key", "")
	edit.Set("kind", "smtp")
	edit.Set("daily_quota", "")
	if resp := h.postForm(loc, edit, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit SES relay: got %d: %s", resp.StatusCode, body(t, resp))
	}
	r, _ := h.st.Relay(ctx, rs[0].ID)
	if pw, _ := h.st.RelayPassword(ctx, r.ID); r.Kind != "ses" || pw != "ses-secret-456" || r.DailyQuota != 0 {
		t.Fatalf("after edit: got %+v with secret %q, want SES, the secret kept and no daily quota", r, pw)
	}
}

// TestBrowserAddSESRelay switches the new relay form to Amazon SES (htmx
// swaps the form in place), fills it in, saves, and sends a test email
// through the SES emulator.
func TestBrowserAddSESRelay(t *testing.T) {
	ctx := browser(t)
	sestest.IsolateAWS(t)
	em := sestest.Start(t)
	h := newHarness(t)
	h.createOwner()
	base := h.ts.URL
	var query, result, list string
	err := chromedp.Do(ctx,
		signInAs(base, ownerEmail, ownerPassword),
		chromedp.Navigate(base+"/settings/relays/new"),
		chromedp.WaitVisible(chromedp.CSS(`#host`)),
		chromedp.Click(chromedp.Search(`//nav[@aria-label="Kind of relay"]//a[text()="Amazon SES"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#region`)),
		into(&query, chromedp.Evaluate[string](`location.search`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "SES Ireland"),
		chromedp.SendKeys(chromedp.CSS(`#region`), "eu-west-1"),
		chromedp.SendKeys(chromedp.CSS(`#access_key_id`), "AKIDHERALDTEST"),
		chromedp.SendKeys(chromedp.CSS(`#secret_access_key`), "ses-secret-789"),
		chromedp.Click(chromedp.Search(`//summary[text()="Advanced: endpoint"]`)),
		chromedp.SendKeys(chromedp.CSS(`#endpoint`), em.URL),
		chromedp.SetValue(chromedp.CSS(`#daily_quota`), "5000"),
		screenshot("ses-1-form"),
		chromedp.Click(chromedp.Search(`//button[text()="Save relay"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#test_to`)),
		chromedp.Click(chromedp.Search(`//button[text()="Send test email"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#relay-test-result .result-ok`)),
		into(&result, chromedp.Text(chromedp.CSS(`#relay-test-result`))),
		screenshot("ses-2-tested"),
		chromedp.Navigate(base+"/settings/relays"),
		chromedp.WaitVisible(chromedp.CSS(`table.table`)),
		into(&list, chromedp.Text(chromedp.CSS(`table.table`))),
	)
	if err != nil {
		t.Fatalf("browser flow: %v", err)
	}
	if query != "?kind=ses" {
		t.Errorf("after switching to SES: got location %q, want ?kind=ses", query)
	}
	if !strings.Contains(result, "Test email sent to "+ownerEmail) || !strings.Contains(result, "SES message id") || !strings.Contains(result, "200 messages per 24 hours") {
		t.Errorf("test result: got %q, want success with the SES message id and the quota", result)
	}
	if !strings.Contains(list, "Amazon SES") || !strings.Contains(list, "5,000") {
		t.Errorf("relay list: got %q, want the SES relay with its daily quota", list)
	}
	if emails := em.Emails(t); len(emails) != 1 || !strings.Contains(strings.Join(emails[0].Destination.To, ","), ownerEmail) {
		t.Fatalf("the emulator received %+v, want one test email to %s", emails, ownerEmail)
	}
}
