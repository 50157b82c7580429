package web

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"herald/mailer/ses/sestest"
	"herald/store"
)

// TestRelayQuota reads an SES relay's allowance from the emulator, and an
// SMTP relay's from Herald's own count, with the warning levels.
func TestRelayQuota(t *testing.T) {
	sestest.IsolateAWS(t)
	em := sestest.Start(t)
	h := newHarness(t)
	key := h.apiKey(store.ScopeAdmin)
	code, out := h.api(key, http.MethodPost, "/api/v1/relays", map[string]any{"name": "SES", "kind": "ses", "region": "eu-west-1",
		"access_key_id": "AKIDHERALDTEST", "secret_access_key": "ses-secret-123", "endpoint": em.URL, "price_per_1000": 0.1})
	if code != http.StatusCreated || audData(t, out)["price_per_1000"] != 0.1 {
		t.Fatalf("SES relay: got %d %v", code, out)
	}
	sesID := audID(audData(t, out))
	code, out = h.api(key, http.MethodGet, "/api/v1/relays/"+itoa(sesID)+"/quota", nil)
	q := audData(t, out)
	// The emulator's account: 200 a day, 1 a second, 3 sent.
	if code != http.StatusOK || q["ses"] != true || q["max_24_hour"] != 200.0 || q["max_per_second"] != 1.0 || q["sent_last_24_hours"] != 3.0 ||
		q["level"] != "ok" {
		t.Fatalf("SES quota: got %d %v", code, out)
	}

	code, out = h.api(key, http.MethodPost, "/api/v1/relays", map[string]any{"name": "Sink", "host": "127.0.0.1", "port": 2525, "tls": "none", "daily_quota": 100})
	smtpID := audID(audData(t, out))
	ctx := context.Background()
	day := time.Now().UTC().Truncate(24 * time.Hour)
	for _, tc := range []struct {
		sent  int
		level string
	}{{50, "ok"}, {85, "warning"}, {96, "critical"}} {
		err := h.st.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.Exec(`INSERT INTO usage_counters (scope, window_start, count) VALUES (?, ?, ?) ON CONFLICT (scope, window_start) DO UPDATE SET count = excluded.count`,
				"relay:"+itoa(smtpID), day.Unix(), tc.sent)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		code, out := h.api(key, http.MethodGet, "/api/v1/relays/"+itoa(smtpID)+"/quota", nil)
		if q := audData(t, out); code != http.StatusOK || q["ses"] != false || q["sent_today"] != float64(tc.sent) || q["level"] != tc.level {
			t.Errorf("%d of 100 sent: got %d %v, want level %s", tc.sent, code, out, tc.level)
		}
	}
	// A warm-up caps the day below the quota: 19 of its first day's 20 is
	// critical, though the quota is 1,000.
	code, out = h.api(key, http.MethodPost, "/api/v1/relays", map[string]any{"name": "Warm", "host": "127.0.0.1", "port": 2526, "tls": "none",
		"daily_quota": 1000, "warmup_days": 10, "warmup_start": 20})
	warmID := audID(audData(t, out))
	h.st.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO usage_counters (scope, window_start, count) VALUES (?, ?, 19)`, "relay:"+itoa(warmID), day.Unix())
		return err
	})
	if _, out := h.api(key, http.MethodGet, "/api/v1/relays/"+itoa(warmID)+"/quota", nil); audData(t, out)["today_cap"] != 20.0 || audData(t, out)["level"] != "critical" {
		t.Errorf("warm-up: got %v, want today's cap 20 and critical", out)
	}
	h.signIn()
	card := body(t, h.get("/settings/relays/"+itoa(smtpID)+"/quota"))
	if !strings.Contains(card, "96% of today") || !strings.Contains(card, "callout-error") {
		t.Errorf("quota card: got %.500q, want the critical warning", card)
	}
	if page := body(t, h.get("/settings/relays/"+itoa(sesID))); !strings.Contains(page, `hx-get="/settings/relays/`+itoa(sesID)+`/quota"`) {
		t.Errorf("the relay page does not load its allowance")
	}
}

// TestCosts estimates what campaigns, categories and months cost at each
// relay's price.
func TestCosts(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	ctx := context.Background()
	// Cheap, the first enabled relay, sends what names no relay.
	_, err := h.st.CreateRelay(ctx, store.RelayInput{Name: "Cheap", Kind: "smtp", Host: "smtp.example.com", Port: 587, TLS: "starttls",
		MaxConnections: 1, Enabled: true, PricePer1000: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	dear, err := h.st.CreateRelay(ctx, store.RelayInput{Name: "Dear", Kind: "smtp", Host: "smtp2.example.com", Port: 587, TLS: "starttls",
		MaxConnections: 1, Enabled: true, PricePer1000: 2})
	if err != nil {
		t.Fatal(err)
	}
	spring, _ := h.st.CreateCampaign(ctx, store.CampaignInput{Name: new("Spring")})
	autumn, _ := h.st.CreateCampaign(ctx, store.CampaignInput{Name: new("Autumn"), RelayID: &dear.ID})
	now := time.Now()
	hour := now.Unix() / 3600 * 3600
	err = h.st.Tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO campaign_hours (campaign_id, hour, sent) VALUES (?, ?, 10000), (?, ?, 1000)`, []any{spring.ID, hour, autumn.ID, hour}},
			{`INSERT INTO messages (kind, to_email, from_email, subject, html, text, status, category, relay_id, created_at, updated_at, sent_at, sent_to)
VALUES ('transactional', 'a@example.com', 's@example.com', 'x', '', 'x', 'sent', 'billing', NULL, ?1, ?1, ?1, 1),
       ('transactional', 'b@example.com', 's@example.com', 'x', '', 'x', 'sent', 'billing', ?2, ?1, ?1, ?1, 3),
       ('transactional', 'c@example.com', 's@example.com', 'x', '', 'x', 'failed', 'billing', NULL, ?1, ?1, ?1, 1)`, []any{now.Unix(), dear.ID}},
		} {
			if _, err := tx.Exec(q.sql, q.args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	code, out := h.api(key, http.MethodGet, "/api/v1/reports/costs", nil)
	d := audData(t, out)
	if code != http.StatusOK {
		t.Fatalf("costs: got %d %v", code, out)
	}
	camps := d["by_campaign"].([]any)
	// Autumn: 1,000 at 2.00 = 2; Spring: 10,000 at the default (Cheap) 0.10 = 1.
	if a, s := camps[0].(map[string]any), camps[1].(map[string]any); a["name"] != "Autumn" || a["cost"] != 2.0 || s["name"] != "Spring" || s["cost"] != 1.0 {
		t.Errorf("by campaign: got %v", camps)
	}
	// Billing: one sent through the default (0.0001), one to three
	// recipients through Dear (3 × 0.002).
	if b := d["by_category"].([]any)[0].(map[string]any); b["name"] != "billing" || b["sent"] != 4.0 || b["cost"] != 0.0061 {
		t.Errorf("by category: got %v", d["by_category"])
	}
	if m := d["by_month"].([]any); len(m) != 1 || m[0].(map[string]any)["sent"] != 11004.0 {
		t.Errorf("by month: got %v", m)
	}
	if code, out := h.api(key, http.MethodGet, "/api/v1/reports/costs?from=2026-05-01&to=2026-04-01", nil); code != http.StatusUnprocessableEntity {
		t.Errorf("a range backwards: got %d %v, want 422", code, out)
	}
	h.signIn()
	page := body(t, h.get("/reports/costs?"+url.Values{"from": {now.AddDate(0, -1, 0).Format(time.DateOnly)}}.Encode()))
	for _, want := range []string{"Autumn", "2.00", "billing"} {
		if !strings.Contains(page, want) {
			t.Errorf("costs page: want %q", want)
		}
	}
}
