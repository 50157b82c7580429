package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"herald/mailer/ses/sestest"
	"herald/mailer/smtptest"
	"herald/store"
)

func TestAPIMe(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeRead)
	code, out := h.api(key, http.MethodGet, "/api/v1/me", nil)
	data, _ := out["data"].(map[string]any)
	if code != http.StatusOK || data["name"] != "test read" || data["scopes"].([]any)[0] != "read" {
		t.Fatalf("me: got %d %v", code, out)
	}
	for _, bad := range []string{"", "herald_nope_nope", key + "x", "Basic abc"} {
		code, out := h.api(bad, http.MethodGet, "/api/v1/me", nil)
		if code != http.StatusUnauthorized || out["error"].(map[string]any)["code"] != "unauthorized" {
			t.Errorf("key %q: got %d %v, want 401", bad, code, out)
		}
	}
}

func TestAPIRevokedAndReadOnlyKeys(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ro := h.apiKey(store.ScopeRead)
	code, out := h.api(ro, http.MethodPost, "/api/v1/relays", map[string]any{"name": "x", "host": "smtp.example.com"})
	if code != http.StatusForbidden || out["error"].(map[string]any)["code"] != "insufficient_scope" {
		t.Fatalf("read-only key POST: got %d %v, want 403", code, out)
	}
	full := h.apiKey(store.ScopeFull)
	keys, _ := h.st.APIKeys(context.Background())
	for _, k := range keys {
		h.st.RevokeAPIKey(context.Background(), k.ID)
	}
	if code, _ := h.api(full, http.MethodGet, "/api/v1/me", nil); code != http.StatusUnauthorized {
		t.Fatalf("revoked key: got %d, want 401", code)
	}
}

func TestAPIRelaysCRUD(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	create := map[string]any{"name": "Postmark", "kind": "smtp", "host": "smtp.postmarkapp.test", "port": 587, "tls": "starttls",
		"username": "token", "password": "pm-secret-123", "max_connections": 4, "rate_per_second": 10}
	code, out := h.api(key, http.MethodPost, "/api/v1/relays", create)
	if code != http.StatusCreated {
		t.Fatalf("create: got %d %v", code, out)
	}
	relay := out["data"].(map[string]any)
	if relay["password_set"] != true || relay["tls"] != "starttls" || relay["rate_per_second"] != 10.0 {
		t.Fatalf("created relay: got %v", relay)
	}
	if _, ok := relay["password"]; ok {
		t.Fatal("the API returned a password field")
	}
	id := int(relay["id"].(float64))
	path := "/api/v1/relays/" + itoa(int64(id))

	code, out = h.api(key, http.MethodPost, "/api/v1/relays", create)
	if code != http.StatusConflict || out["error"].(map[string]any)["code"] != "conflict" {
		t.Fatalf("duplicate: got %d %v, want 409", code, out)
	}

	code, out = h.api(key, http.MethodGet, "/api/v1/relays", nil)
	meta := out["meta"].(map[string]any)
	if code != http.StatusOK || len(out["data"].([]any)) != 1 || meta["total"] != 1.0 || meta["page"] != 1.0 || meta["per_page"] != 50.0 {
		t.Fatalf("list: got %d %v", code, out)
	}

	code, out = h.api(key, http.MethodPatch, path, map[string]any{"max_connections": 8, "tls": "tls", "port": 465})
	relay = out["data"].(map[string]any)
	if code != http.StatusOK || relay["max_connections"] != 8.0 || relay["port"] != 465.0 || relay["name"] != "Postmark" || relay["password_set"] != true {
		t.Fatalf("patch: got %d %v", code, out)
	}
	if pw, _ := h.st.RelayPassword(context.Background(), int64(id)); pw != "pm-secret-123" {
		t.Fatalf("password after patch without password: got %q", pw)
	}

	code, out = h.api(key, http.MethodPatch, path, map[string]any{"port": 0, "tls": "ssl"})
	e := out["error"].(map[string]any)
	fields, _ := e["fields"].(map[string]any)
	if code != http.StatusUnprocessableEntity || e["code"] != "validation_failed" || fields["port"] == nil || fields["tls"] == nil {
		t.Fatalf("invalid patch: got %d %v, want 422 naming port and tls", code, out)
	}
	if code, out := h.api(key, http.MethodPatch, path, map[string]any{"kind": "sendmail"}); code != http.StatusUnprocessableEntity || !strings.Contains(fmt.Sprint(out), "kind:") {
		t.Fatalf("unknown kind: got %d %v, want 422 naming kind", code, out)
	}
	for _, tc := range []struct {
		body string
		want string
	}{
		{`{"port": "587"}`, "port"},
		{`{"hostname": "x"}`, "hostname"},
		{`{"port": 5`, "JSON"},
		{``, "JSON object"},
	} {
		code, out := h.api(key, http.MethodPatch, path, tc.body)
		if code != http.StatusBadRequest || !strings.Contains(out["error"].(map[string]any)["message"].(string), tc.want) {
			t.Errorf("body %q: got %d %v, want 400 mentioning %q", tc.body, code, out, tc.want)
		}
	}

	code, out = h.api(key, http.MethodGet, path, nil)
	if code != http.StatusOK || out["data"].(map[string]any)["max_connections"] != 8.0 {
		t.Fatalf("get: got %d %v", code, out)
	}
	if code, _ := h.api(key, http.MethodDelete, path, nil); code != http.StatusNoContent {
		t.Fatalf("delete: got %d, want 204", code)
	}
	for _, m := range []string{http.MethodGet, http.MethodPatch, http.MethodDelete} {
		code, out := h.api(key, m, path, map[string]any{"name": "x"})
		if code != http.StatusNotFound || out["error"].(map[string]any)["code"] != "not_found" {
			t.Errorf("%s after delete: got %d %v, want 404", m, code, out)
		}
	}
}

func TestAPIRelayTestSend(t *testing.T) {
	t.Parallel()
	sink := smtptest.Start(t, smtptest.Options{})
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	code, out := h.api(key, http.MethodPost, "/api/v1/relays", map[string]any{"name": "Sink", "host": sink.Host(), "port": sink.Port(), "tls": "none"})
	if code != http.StatusCreated {
		t.Fatalf("create: got %d %v", code, out)
	}
	path := "/api/v1/relays/" + itoa(int64(out["data"].(map[string]any)["id"].(float64))) + "/test"
	code, out = h.api(key, http.MethodPost, path, map[string]any{"to": "dev@example.com"})
	res := out["data"].(map[string]any)
	if code != http.StatusOK || res["delivered"] != true || !strings.HasPrefix(res["reply"].(string), "250") {
		t.Fatalf("test: got %d %v", code, out)
	}
	if msgs := sink.Wait(1, 5*time.Second); len(msgs) != 1 || msgs[0].To[0] != "dev@example.com" {
		t.Fatalf("sink received %+v", msgs)
	}
	code, out = h.api(key, http.MethodPost, path, map[string]any{"to": "nope"})
	if code != http.StatusUnprocessableEntity || out["error"].(map[string]any)["fields"].(map[string]any)["to"] == nil {
		t.Fatalf("bad address: got %d %v, want 422 naming to", code, out)
	}
}

func TestAPISettings(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	code, out := h.api(key, http.MethodGet, "/api/v1/settings", nil)
	if code != http.StatusOK || out["data"].(map[string]any)["timezone"] != "UTC" {
		t.Fatalf("get: got %d %v", code, out)
	}
	code, out = h.api(key, http.MethodPatch, "/api/v1/settings", map[string]any{"org_name": "Acme", "base_url": "https://mail.acme.test"})
	if code != http.StatusOK || out["data"].(map[string]any)["org_name"] != "Acme" {
		t.Fatalf("patch: got %d %v", code, out)
	}
	code, out = h.api(key, http.MethodPatch, "/api/v1/settings", map[string]any{"timezone": "Nowhere/Land"})
	if code != http.StatusUnprocessableEntity || out["error"].(map[string]any)["fields"].(map[string]any)["timezone"] == nil {
		t.Fatalf("bad timezone: got %d %v, want 422 naming timezone", code, out)
	}
	code, out = h.api(key, http.MethodPatch, "/api/v1/settings", map[string]any{"base_url": "https://user:pw@news.acme.example"})
	if _, f := audError(out); code != http.StatusUnprocessableEntity || !strings.Contains(fmt.Sprint(f["base_url"]), "user name and password") {
		t.Fatalf("base URL with a login: got %d %v, want 422 saying to leave the login out", code, out)
	}
	if g, _ := h.st.General(context.Background()); g.OrgName != "Acme" || g.Timezone != "UTC" || !h.srv.secureCookies() {
		t.Fatalf("stored: got %+v; the refused patch must change nothing and https must make cookies Secure", g)
	}

	// The first retry delay: 30 s by default, 5 to 3600 when set.
	if code, out := h.api(key, http.MethodPatch, "/api/v1/settings", map[string]any{"first_retry_seconds": 2}); code != http.StatusUnprocessableEntity {
		t.Errorf("first retry of 2 s: got %d %v, want 422", code, out)
	}
	code, out = h.api(key, http.MethodPatch, "/api/v1/settings", map[string]any{"first_retry_seconds": 120})
	if code != http.StatusOK || out["data"].(map[string]any)["first_retry_seconds"] != 120.0 {
		t.Fatalf("first retry of 120 s: got %d %v", code, out)
	}
	if g, _ := h.st.General(context.Background()); g.FirstRetry() != 2*time.Minute {
		t.Errorf("stored first retry: got %v, want 2m", g.FirstRetry())
	}
	h.signIn()
	resp := h.postForm("/settings", url.Values{"org_name": {"Acme"}, "timezone": {"UTC"}, "first_retry_seconds": {"soon"}}, nil)
	if page := body(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "between 5 and 3600 seconds") {
		t.Errorf("settings form with a bad retry delay: got %d, want 422 with the message", resp.StatusCode)
	}
}

// TestHiddenCharactersAreRefusedNamingFieldAndCharacter sends settings,
// a relay, a list and the confirmation email with hidden characters, by the
// API and by the forms: each is refused with a 422 naming the field and
// the character, and nothing is stored.
func TestHiddenCharactersAreRefusedNamingFieldAndCharacter(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	relay := func(name string) map[string]any {
		return map[string]any{"name": name, "kind": "smtp", "host": "smtp.example.com", "port": 587, "tls": "starttls", "max_connections": 1}
	}
	for _, tc := range []struct {
		name, method, path string
		body               map[string]any
		field, char        string
	}{
		{"from name", http.MethodPatch, "/api/v1/settings", map[string]any{"from_name": "Acme\u202eevil"}, "from_name", "U+202E"},
		{"org name", http.MethodPatch, "/api/v1/settings", map[string]any{"org_name": "Ac\u202eme\u0007"}, "org_name", "U+202E"},
		{"postal address", http.MethodPatch, "/api/v1/settings", map[string]any{"postal_address": "1 Main St\nLeeds\u0007"}, "postal_address", "U+0007"},
		{"relay name", http.MethodPost, "/api/v1/relays", relay("R\u202e"), "name", "U+202E"},
		{"list description", http.MethodPost, "/api/v1/lists", map[string]any{"name": "News", "description": "d\u202ex\u0000"}, "description", "U+202E"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := h.api(key, tc.method, tc.path, tc.body)
			if _, f := audError(out); code != http.StatusUnprocessableEntity || !strings.Contains(fmt.Sprint(f[tc.field]), tc.char) {
				t.Errorf("got %d %v, want 422 naming %s and %s", code, out, tc.field, tc.char)
			}
		})
	}
	h.signIn()
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/settings", url.Values{"from_name": {"Acme\u202eevil"}, "timezone": {"UTC"}}},
		{"/settings/emails", url.Values{"subject": {"Confirm\u202e"}, "text": {store.DefaultConfirmEmail.Text}}},
	} {
		resp := h.postForm(tc.path, tc.form, nil)
		if page := body(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "U+202E") {
			t.Errorf("%s: got %d, want 422 naming U+202E", tc.path, resp.StatusCode)
		}
	}
	ctx := context.Background()
	g, _ := h.st.General(ctx)
	e, _ := h.st.ConfirmEmail(ctx)
	rs, _ := h.st.Relays(ctx)
	ls, _ := h.st.Lists(ctx)
	if g.FromName != "" || g.OrgName != "" || g.PostalAddress != "" || e != store.DefaultConfirmEmail || len(rs) != 0 || len(ls) != 0 {
		t.Errorf("after refusals: got settings %+v, email %+v, %d relays, %d lists; want nothing stored", g, e, len(rs), len(ls))
	}
}

func TestAPIInputEdges(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	req := func(body string) (int, map[string]any) {
		return h.api(key, http.MethodPost, "/api/v1/relays", body)
	}
	cases := []struct {
		name, body string
		status     int
		field      string
		message    string
	}{
		{"trailing data", `{"name":"a","host":"smtp.example.com"} garbage`, 400, "", "exactly one object"},
		{"array body", `[]`, 400, "", "JSON object"},
		{"fraction for a whole number", `{"name":"a","host":"smtp.example.com","port":1.5}`, 400, "port", "whole number"},
		{"unknown field", `{"name":"a","hostname":"x"}`, 400, "hostname", "Unknown field"},
		{"control characters", `{"name":"a","host":"bad\u0000host","username":"a\r\nb"}`, 422, "host", "host"},
		{"overlong host", `{"name":"a","host":"` + strings.Repeat("h", 300) + `"}`, 422, "host", "253"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out := req(tc.body)
			e, _ := out["error"].(map[string]any)
			fields, ok := e["fields"].(map[string]any)
			if code != tc.status || !ok || !strings.Contains(e["message"].(string), tc.message) {
				t.Fatalf("got %d %v, want %d mentioning %q with a fields object", code, out, tc.status, tc.message)
			}
			if tc.field != "" && fields[tc.field] == nil {
				t.Fatalf("fields: got %v, want %q named", fields, tc.field)
			}
		})
	}
	if rs, _ := h.st.Relays(context.Background()); len(rs) != 0 {
		t.Fatalf("refused bodies stored %d relays", len(rs))
	}
	h.api(key, http.MethodPost, "/api/v1/relays", map[string]any{"name": "api", "host": "smtp.example.com"})
	code, out := h.api(key, http.MethodPost, "/api/v1/relays", map[string]any{"name": "API", "host": "smtp.example.com"})
	if msg := out["error"].(map[string]any)["message"]; code != http.StatusConflict || msg != `A relay named "API" already exists.` {
		t.Fatalf("conflict: got %d %q", code, msg)
	}
	lower := h.request(http.DefaultClient, http.MethodGet, "/api/v1/me", nil, map[string]string{"Authorization": "bearer " + key})
	if lower.StatusCode != http.StatusOK {
		t.Fatalf("lower-case bearer scheme: got %d, want 200", lower.StatusCode)
	}
}

func TestAPIExplainsAPasswordItCannotDecrypt(t *testing.T) {
	t.Parallel()
	sink := smtptest.Start(t, smtptest.Options{Username: "u", Password: "p"})
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	_, out := h.api(key, http.MethodPost, "/api/v1/relays", map[string]any{"name": "Sink", "host": sink.Host(), "port": sink.Port(), "tls": "none", "username": "u", "password": "p"})
	id := int64(out["data"].(map[string]any)["id"].(float64))
	other, _ := store.NewSecretBox([]byte("fedcba9876543210fedcba9876543210"))
	reopened, err := store.Open(context.Background(), filepath.Dir(h.st.Path()), other)
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	if n, err := reopened.UnreadableSecrets(context.Background()); n != 1 || err != nil {
		t.Fatalf("unreadable secrets under another key: got %d, %v, want 1", n, err)
	}
	h2 := newHarness(t, func(c *harnessConfig) { c.Store = reopened })
	key2 := h2.apiKey(store.ScopeFull)
	code, out := h2.api(key2, http.MethodPost, "/api/v1/relays/"+itoa(id)+"/test", map[string]any{"to": "a@example.com"})
	e := out["error"].(map[string]any)
	if code != http.StatusConflict || e["code"] != "secret_unreadable" || !strings.Contains(e["message"].(string), "Enter it again") {
		t.Fatalf("test with an undecryptable password: got %d %v", code, out)
	}
}

func TestHEADWorksLikeGET(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.createOwner()
	page := body(t, h.get("/login"))
	css := stylesheet.FindStringSubmatch(page)[1]
	for _, path := range []string{"/healthz", "/login", css} {
		resp := h.request(h.client, http.MethodHead, path, nil, nil)
		if b := body(t, resp); resp.StatusCode != http.StatusOK || b != "" {
			t.Errorf("HEAD %s: got %d with %d bytes of body, want 200 and none", path, resp.StatusCode, len(b))
		}
	}
}

func TestAPISESRelay(t *testing.T) {
	sestest.IsolateAWS(t)
	em := sestest.Start(t)
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	ctx := context.Background()

	code, out := h.api(key, http.MethodPost, "/api/v1/relays", map[string]any{"name": "SES", "kind": "ses", "region": "Mars",
		"access_key_id": "AKIDHERALDTEST", "endpoint": "ftp://example.com", "daily_quota": -1, "warmup_days": 5, "host": "smtp.example.com"})
	if _, f := audError(out); code != http.StatusUnprocessableEntity ||
		f["region"] == nil || f["secret_access_key"] == nil || f["endpoint"] == nil || f["daily_quota"] == nil || f["warmup_start"] == nil || f["host"] == nil {
		t.Fatalf("invalid SES relay: got %d %v, want 422 naming region, secret_access_key, endpoint, daily_quota, warmup_start and host", code, out)
	}
	code, out = h.api(key, http.MethodPost, "/api/v1/relays", map[string]any{"name": "Mixed", "host": "smtp.example.com", "region": "us-east-1", "warmup_from": "2026-01-01T00:00:00Z"})
	if _, f := audError(out); code != http.StatusUnprocessableEntity || f["region"] == nil || f["warmup_from"] == nil {
		t.Fatalf("SMTP relay with a region and warmup_from: got %d %v, want 422 naming both", code, out)
	}

	create := map[string]any{"name": "SES Ireland", "kind": "ses", "region": "eu-west-1", "access_key_id": "AKIDHERALDTEST",
		"secret_access_key": "ses-secret-123", "configuration_set": "herald-events", "endpoint": em.URL,
		"max_connections": 5, "daily_quota": 1000, "warmup_days": 10, "warmup_start": 100}
	code, out = h.api(key, http.MethodPost, "/api/v1/relays", create)
	relay, _ := out["data"].(map[string]any)
	if code != http.StatusCreated || relay["kind"] != "ses" || relay["region"] != "eu-west-1" || relay["access_key_id"] != "AKIDHERALDTEST" ||
		relay["secret_set"] != true || relay["configuration_set"] != "herald-events" || relay["endpoint"] != em.URL ||
		relay["daily_quota"] != 1000.0 || relay["warmup_days"] != 10.0 || relay["warmup_start"] != 100.0 || relay["warmup_from"] == nil {
		t.Fatalf("create: got %d %v", code, out)
	}
	for _, f := range []string{"host", "port", "tls", "username", "password_set", "secret_access_key"} {
		if _, ok := relay[f]; ok {
			t.Errorf("an SES relay shows %q: %v", f, relay)
		}
	}
	id := int64(relay["id"].(float64))
	path := "/api/v1/relays/" + itoa(id)
	warmupFrom := relay["warmup_from"]

	code, out = h.api(key, http.MethodGet, path, nil)
	if raw := fmt.Sprint(out); code != http.StatusOK || strings.Contains(raw, "ses-secret-123") || !strings.Contains(raw, "secret_set:true") {
		t.Fatalf("get: got %d %v, want secret_set true and never the secret", code, out)
	}

	// null keeps the secret, and warm-up keeps its start.
	code, out = h.api(key, http.MethodPatch, path, map[string]any{"secret_access_key": nil, "daily_quota": 2000, "configuration_set": ""})
	relay, _ = out["data"].(map[string]any)
	if code != http.StatusOK || relay["daily_quota"] != 2000.0 || relay["configuration_set"] != "" || relay["secret_set"] != true || relay["warmup_from"] != warmupFrom {
		t.Fatalf("patch: got %d %v", code, out)
	}
	if pw, _ := h.st.RelayPassword(ctx, id); pw != "ses-secret-123" {
		t.Fatalf("secret after a patch without one: got %q", pw)
	}
	code, out = h.api(key, http.MethodPatch, path, map[string]any{"access_key_id": "AKIDANOTHERONE", "port": 25})
	if _, f := audError(out); code != http.StatusUnprocessableEntity || f["secret_access_key"] == nil || f["port"] == nil {
		t.Fatalf("new key id without its secret: got %d %v, want 422 naming secret_access_key and port", code, out)
	}

	code, out = h.api(key, http.MethodPost, path+"/test", map[string]any{"to": "reader@example.com"})
	res, _ := out["data"].(map[string]any)
	if code != http.StatusOK || res["delivered"] != true || !strings.HasPrefix(fmt.Sprint(res["reply"]), "SES message id ") {
		t.Fatalf("test send: got %d %v", code, out)
	}
	q := em.Quota()
	wantQuota := map[string]any{"max_24_hour": q.Max24Hour, "max_per_second": q.MaxPerSecond, "sent_last_24_hours": q.SentLast24Hours,
		"sending_enabled": q.SendingEnabled, "production_access": q.ProductionAccess}
	if got := fmt.Sprint(res["quota"]); got != fmt.Sprint(wantQuota) {
		t.Errorf("quota: got %s, want %v", got, wantQuota)
	}
	emails := em.Emails(t)
	if len(emails) != 1 || emails[0].Subject != "Herald test email via SES Ireland" || len(emails[0].Destination.To) != 1 ||
		!strings.Contains(emails[0].Destination.To[0], "reader@example.com") || "SES message id "+emails[0].MessageID != res["reply"] {
		t.Fatalf("the emulator holds %+v, want the one test email to reader@example.com", emails)
	}

	// Turning warm-up off clears its start; a kind change drops the keys.
	code, out = h.api(key, http.MethodPatch, path, map[string]any{"warmup_days": 0})
	if relay, _ = out["data"].(map[string]any); code != http.StatusOK || relay["warmup_from"] != nil {
		t.Fatalf("warm-up off: got %d %v, want warmup_from null", code, out)
	}
	code, out = h.api(key, http.MethodPatch, path, map[string]any{"kind": "smtp", "host": "127.0.0.1", "port": 2525, "tls": "none"})
	if relay, _ = out["data"].(map[string]any); code != http.StatusOK || relay["kind"] != "smtp" || relay["password_set"] != false || relay["username"] != "" || relay["region"] != nil {
		t.Fatalf("SES to SMTP: got %d %v, want an SMTP relay without the SES keys", code, out)
	}
}

func TestAPISESRelayTestShowsWhyItFailed(t *testing.T) {
	sestest.IsolateAWS(t)
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	// Nothing listens on a port just closed, so SES cannot be reached.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	code, out := h.api(key, http.MethodPost, "/api/v1/relays", map[string]any{"name": "Nowhere", "kind": "ses", "region": "us-east-1",
		"access_key_id": "AKIDHERALDTEST", "secret_access_key": "s", "endpoint": dead})
	if code != http.StatusCreated {
		t.Fatalf("create: got %d %v", code, out)
	}
	path := "/api/v1/relays/" + itoa(int64(out["data"].(map[string]any)["id"].(float64))) + "/test"
	code, out = h.api(key, http.MethodPost, path, map[string]any{"to": "reader@example.com"})
	res, _ := out["data"].(map[string]any)
	if code != http.StatusOK || res["delivered"] != false || res["stage"] != "ses" || !strings.Contains(fmt.Sprint(res["error"]), "could not reach SES") {
		t.Fatalf("test send: got %d %v, want an undelivered answer at stage ses", code, out)
	}
	if _, ok := res["quota"]; ok || !strings.Contains(fmt.Sprint(res["quota_error"]), "quota") {
		t.Fatalf("quota: got %v, want quota_error and no quota", res)
	}
}
