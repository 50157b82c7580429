package web

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"herald/store"
)

// seedEngagement records, straight into the tables, a started campaign
// "Spring sale" sent to ann and bob: ann opened it and clicked its pricing
// link a day ago, bob did not open it. It returns the campaign's id.
func seedEngagement(t *testing.T, h *harness, ann, bob int64) int64 {
	t.Helper()
	now := time.Now().Unix()
	ago := now - 86400
	var id int64
	err := h.st.Tx(context.Background(), func(tx *sql.Tx) error {
		err := tx.QueryRow(`INSERT INTO campaigns (name, status, created_at, updated_at, started_at) VALUES ('Spring sale', 'sent', ?, ?, ?) RETURNING id`, now, now, now).Scan(&id)
		if err != nil {
			return err
		}
		var link int64
		if err := tx.QueryRow(`INSERT INTO links (campaign_id, url, created_at) VALUES (?, 'https://shop.example.com/pricing', ?) RETURNING id`, id, now).Scan(&link); err != nil {
			return err
		}
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO sends (campaign_id, contact_id, email, status, updated_at, opens, human_opens, opened_at) VALUES (?, ?, 'ann@example.com', 'sent', ?, 1, 1, ?)`, []any{id, ann, now, ago}},
			{`INSERT INTO sends (campaign_id, contact_id, email, status, updated_at) VALUES (?, ?, 'bob@example.com', 'sent', ?)`, []any{id, bob, now}},
			{`UPDATE contacts SET last_open_at = ?, last_click_at = ? WHERE id = ?`, []any{ago, ago, ann}},
			{`INSERT INTO events (at, kind, campaign_id, contact_id, link_id) VALUES (?, 'click', ?, ?, ?)`, []any{ago, id, ann, link}},
		} {
			if _, err := tx.Exec(q.sql, q.args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seeding engagement: %v", err)
	}
	return id
}

func TestSegmentEditorEngagement(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	ann := audSeedContact(t, h, "ann@example.com", nil, nil)
	bob := audSeedContact(t, h, "bob@example.com", nil, nil)
	audSeedContact(t, h, "carl@example.org", nil, nil)
	camp := itoa(seedEngagement(t, h, ann, bob))

	form := audSegmentForm("Lapsed", [4]string{"opened", "never", "", ""})
	form.Set("campaign.0", camp)
	frag := body(t, h.postForm("/segments/editor", form, map[string]string{"HX-Request": "true"}))
	for _, want := range []string{`name="campaign.0"`, `<option value="` + camp + `" selected>Spring sale</option>`,
		"Contacts who were sent “Spring sale” but did not open it."} {
		if !strings.Contains(frag, want) {
			t.Errorf("editor: got %.3000s, want %q", frag, want)
		}
	}

	counts := []struct {
		name     string
		cond     [4]string
		campaign string
		want     string
	}{
		{"opened any", [4]string{"opened", "within_days", "30", ""}, "", `<strong class="count-live">1</strong>`},
		{"sent but not opened", [4]string{"opened", "never", "", ""}, camp, `<strong class="count-live">1</strong>`},
		{"never opened", [4]string{"opened", "never", "", ""}, "", `<strong class="count-live">2</strong>`},
		{"clicked a link", [4]string{"clicked_link", "contains", "pricing", ""}, "", `<strong class="count-live">1</strong>`},
		{"unknown campaign", [4]string{"clicked", "within_days", "7", ""}, "999", "Not counted yet: in row 1, there is no campaign 999"},
		{"too many days", [4]string{"opened", "within_days", "4000", ""}, "", "from 1 to 3650"},
	}
	for _, tc := range counts {
		form := audSegmentForm("x", tc.cond)
		form.Set("campaign.0", tc.campaign)
		resp := h.postForm("/segments/count", form, map[string]string{"HX-Request": "true"})
		if frag := body(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(frag, tc.want) {
			t.Errorf("count %s: got %d %q, want %q", tc.name, resp.StatusCode, frag, tc.want)
		}
	}

	resp := h.postForm("/segments", form, nil)
	id := audIDFrom(t, resp)
	g, err := h.st.Segment(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"match":"all","conditions":[{"field":"opened","op":"never","campaign":` + camp + `}]}`
	if got, _ := json.Marshal(g.Rules); string(got) != want {
		t.Errorf("saved rules: got %s, want %s", got, want)
	}
	if got := body(t, h.get("/segments/"+itoa(id)+"/count")); got != "1" {
		t.Errorf("saved count: got %q, want 1 (bob)", got)
	}
	if page := body(t, h.get("/segments/"+itoa(id))); !strings.Contains(page, `<option value="`+camp+`" selected>Spring sale</option>`) {
		t.Errorf("saved segment's page does not show its campaign chosen")
	}
	form.Set("campaign.0", "999")
	form.Set("name", "Ghost")
	if resp := h.postForm("/segments", form, nil); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body(t, resp), "there is no campaign 999") {
		t.Errorf("save with an unknown campaign: got %d, want 422 saying so", resp.StatusCode)
	}
}

func TestAPISegmentsEngagement(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	ann := audSeedContact(t, h, "ann@example.com", nil, nil)
	bob := audSeedContact(t, h, "bob@example.com", nil, nil)
	camp := itoa(seedEngagement(t, h, ann, bob))

	rules := `{"match":"any","conditions":[{"field":"clicked","op":"within_days","value":7,"campaign":` + camp + `},
		{"field":"clicked_link","op":"contains","value":"pricing"}]}`
	code, out := h.api(key, http.MethodPost, "/api/v1/segments", `{"name":"Clickers","rules":`+rules+`}`)
	if code != http.StatusCreated {
		t.Fatalf("create: got %d %v, want 201", code, out)
	}
	id := audID(audData(t, out))
	if _, out := h.api(key, http.MethodGet, "/api/v1/segments/"+itoa(id)+"/count", nil); audData(t, out)["count"] != 1.0 {
		t.Errorf("count: got %v, want 1 (ann)", out)
	}
	code, out = h.api(key, http.MethodPost, "/api/v1/segments/count", `{"rules":{"match":"all","conditions":[{"field":"opened","op":"never","campaign":`+camp+`}]}}`)
	if code != http.StatusOK || audData(t, out)["count"] != 1.0 {
		t.Errorf("preview: got %d %v, want a count of 1 (bob)", code, out)
	}
	for _, bad := range []struct{ rules, field, says string }{
		{`{"match":"all","conditions":[{"field":"opened","op":"within_days","value":7,"campaign":999}]}`, "rules.conditions[0].campaign", "no campaign 999"},
		{`{"match":"all","conditions":[{"field":"opened","op":"within_days","value":0}]}`, "rules.conditions[0].value", "1 to 3650"},
		{`{"match":"all","conditions":[{"field":"clicked_link","op":"contains","value":"` + strings.Repeat("x", 201) + `"}]}`, "rules.conditions[0].value", "1 to 200"},
	} {
		for path, payload := range map[string]string{
			"/api/v1/segments":       `{"name":"Bad","rules":` + bad.rules + `}`,
			"/api/v1/segments/count": `{"rules":` + bad.rules + `}`,
		} {
			code, out := h.api(key, http.MethodPost, path, payload)
			_, fields := audError(out)
			if msg, _ := fields[bad.field].(string); code != http.StatusUnprocessableEntity || !strings.Contains(msg, bad.says) {
				t.Errorf("%s: got %d %v, want 422 on %s saying %q", path, code, out, bad.field, bad.says)
			}
		}
	}
}
