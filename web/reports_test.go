package web

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"herald/mailer/smtptest"
	"herald/store"
)

// reportedCampaign sends a tracked campaign to three readers, of whom one
// opens and one clicks (which opens it too), and returns its id once every outcome is counted.
func reportedCampaign(t *testing.T) (*harness, int64) {
	h, _, sink := sendingHarness(t, smtptest.Options{})
	clock := h.setClock()
	id, msgs := sentTracked(t, h, sink, 3, store.Tracking{Opens: true, Clicks: true})
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := h.st.CampaignCounts(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if n.Sent == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("counts: %+v", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// An open in the first seconds after delivery is a scanner's.
	clock.Advance(time.Hour)
	person := map[string]string{"User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15"}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	h.request(noRedirect, http.MethodGet, msgs[0]["o"][0], nil, person).Body.Close()
	h.request(noRedirect, http.MethodGet, msgs[1]["c"][0], nil, person).Body.Close()
	h.signIn()
	return h, id
}

func TestCampaignReportPages(t *testing.T) {
	t.Parallel()
	h, id := reportedCampaign(t)
	// The campaign's events, walked by cursor, newest first, each once.
	evKey := h.apiKey(store.ScopeRead)
	evs := cursorWalk(t, h, evKey, "/api/v1/campaigns/"+itoa(id)+"/events?per_page=1")
	if len(evs) < 2 || !slices.IsSortedFunc(evs, func(a, b int64) int { return cmp.Compare(b, a) }) {
		t.Errorf("events by cursor: got %v, want every event, newest first", evs)
	}
	path := "/campaigns/" + itoa(id)
	for _, c := range []struct{ path, want string }{
		{path, `/report"`},
		{path + "/report", "Open rate"},
		{path + "/report?all=1&filter=clicked", "<svg"},
		{path + "/report?filter=not_opened", "Send to those who did not open"},
		{path + "/report/live", "Opens and clicks over time"},
		{"/reports", "Net list growth"},
		{"/", "The last 30 days"},
		{"/reports/compare?ids=" + itoa(id), "Spring"},
		{"/reports/compare?ids=" + itoa(id) + ",99", `value="` + itoa(id) + `" checked`},
	} {
		res := h.get(c.path)
		if b := body(t, res); res.StatusCode != http.StatusOK || !strings.Contains(b, c.want) {
			t.Errorf("GET %s: got %d, want 200 with %q", c.path, res.StatusCode, c.want)
		}
	}
	page := body(t, h.get(path+"/report"))
	for _, want := range []string{"shop.example/loaf", "example.com", "News", "<title>"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}

	// A large campaign's results by domain and by list come after its
	// page: fetched by htmx, or with a link without JavaScript.
	if err := h.st.Tx(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE campaigns SET recipients = 60000 WHERE id = ?`, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	page = body(t, h.get(path+"/report"))
	if strings.Contains(page, ">By recipient domain<") || !strings.Contains(page, `hx-get="`+path+`/report/breakdowns"`) ||
		!strings.Contains(page, `href="`+path+`/report?breakdowns=1"`) {
		t.Errorf("a large campaign's report: want the breakdowns fetched after the page")
	}
	for _, p := range []string{path + "/report/breakdowns", path + "/report?breakdowns=1"} {
		if b := body(t, h.get(p)); !strings.Contains(b, "By recipient domain") || !strings.Contains(b, "example.com") {
			t.Errorf("GET %s lacks the results by domain", p)
		}
	}

	rows := readCSV(t, h.get(path+"/report/recipients.csv?filter=opened"))
	if len(rows) != 3 || rows[0][0] != "email" || !strings.HasSuffix(rows[1][0], "@example.com") {
		t.Errorf("opened CSV: %v", rows)
	}
	if rows := readCSV(t, h.get(path+"/report/recipients.csv?filter=not_opened")); len(rows) != 2 {
		t.Errorf("not opened CSV: %v", rows)
	}

	// The draft for those who did not open goes to a new list of one.
	res := h.postForm(path+"/report/not-opened", url.Values{"_csrf": {csrfFrom(t, page)}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("not opened: got %d", res.StatusCode)
	}
	draft, err := h.st.Campaign(context.Background(), id+1)
	if err != nil || draft.Status != store.CampaignDraft || len(draft.ListIDs) != 1 {
		t.Fatalf("draft: %+v %v", draft, err)
	}
	if n, _ := h.st.CountContacts(context.Background(), store.ContactFilter{ListID: draft.ListIDs[0]}); n != 1 {
		t.Errorf("not opened list: %d members, want 1", n)
	}
}

func readCSV(t *testing.T, res *http.Response) [][]string {
	t.Helper()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV: got %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(res.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestCampaignTotalsAgree holds a campaign's totals equal wherever the API
// and the exports show them.
func TestCampaignTotalsAgree(t *testing.T) {
	t.Parallel()
	h, id := reportedCampaign(t)
	key := h.apiKey(store.ScopeRead)
	ctx := context.Background()
	x, _ := h.st.Campaign(ctx, id)
	// The one who did not open bounced, and one who did complained.
	unread, _ := h.st.CampaignRecipients(ctx, id, store.FilterNotOpened, false, 0, 10)
	read, _ := h.st.CampaignRecipients(ctx, id, store.FilterOpened, false, 0, 10)
	if _, err := h.st.RecordFeedback(ctx, []store.Feedback{
		{Kind: store.ResultHardBounce, At: x.StartedAt, CampaignID: id, SendID: unread[0].SendID, Detail: "550 5.1.1 no such user", Source: "dsn"},
		{Kind: store.ResultComplaint, At: x.StartedAt, CampaignID: id, SendID: read[0].SendID, Source: "ses"},
	}, store.DefaultSoftBounceLimit); err != nil {
		t.Fatal(err)
	}
	day := x.StartedAt.UTC().Format(time.DateOnly)
	base := "/api/v1/campaigns/" + itoa(id)
	_, got := h.api(key, http.MethodGet, base, nil)
	campaign := got["data"].(map[string]any)
	_, got = h.api(key, http.MethodGet, base+"/stats", nil)
	stats := got["data"].(map[string]any)
	_, got = h.api(key, http.MethodGet, base+"/report", nil)
	report := got["data"].(map[string]any)
	code, got := h.api(key, http.MethodGet, "/api/v1/reports/overview?from="+day+"&to="+day, nil)
	if code != http.StatusOK {
		t.Fatalf("overview: %d %v", code, got)
	}
	rows := got["data"].(map[string]any)["campaigns"].([]any)
	if len(rows) != 1 {
		t.Fatalf("overview campaigns: %v", rows)
	}
	row := rows[0].(map[string]any)
	var export map[string]any
	if err := json.NewDecoder(h.get("/reports/export.json?from=" + day + "&to=" + day).Body).Decode(&export); err != nil {
		t.Fatal(err)
	}
	exported := export["campaigns"].([]any)[0].(map[string]any)
	for _, k := range []string{"sent", "delivered", "opened", "clicked", "rates", "hard_bounces", "soft_bounces", "complaints", "unsubscribes"} {
		want, _ := json.Marshal(report[k])
		for name, m := range map[string]map[string]any{"stats": stats, "overview": row, "export": exported} {
			if b, _ := json.Marshal(m[k]); string(b) != string(want) {
				t.Errorf("%s in %s: %s, in the report %s", k, name, b, want)
			}
		}
	}
	if campaign["bounces"] != report["hard_bounces"] || campaign["complaints"] != report["complaints"] {
		t.Errorf("campaign: bounces %v complaints %v; report %v %v", campaign["bounces"], campaign["complaints"], report["hard_bounces"], report["complaints"])
	}
	opened := report["opened"].(map[string]any)
	if report["sent"] != 3.0 || report["delivered"] != 2.0 || report["hard_bounces"] != 1.0 || report["complaints"] != 1.0 || opened["human_unique"] != 2.0 || report["clicked"].(map[string]any)["human_unique"] != 1.0 {
		t.Errorf("report: %v", report)
	}
	if rows := readCSV(t, h.get("/reports/export.csv?from="+day+"&to="+day+"&interval=hour")); len(rows) != 25 || rows[0][1] != "sent" {
		t.Errorf("CSV export: %d rows", len(rows))
	}
	page := body(t, h.get("/campaigns/"+itoa(id)+"/report"))
	if !strings.Contains(page, "550 5.1.1 no such user") {
		t.Error("the report lacks the bounce's reason")
	}
	// Over the Settings' thresholds, the campaign needs attention.
	if dash := body(t, h.get("/")); !strings.Contains(dash, "Spring: bounce rate 33.3% is over 5%") || !strings.Contains(dash, "complaint rate 50.0%") {
		t.Error("the dashboard does not say the campaign's rates are over the thresholds")
	}
	for _, path := range []string{base + "/links", base + "/domains", base + "/events?type=open", base + "/events?page=2&per_page=1"} {
		if code, got := h.api(key, http.MethodGet, path, nil); code != http.StatusOK || got["meta"] == nil {
			t.Errorf("%s: %d %v", path, code, got)
		}
	}
}

func TestOverviewAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeRead)
	for _, q := range []string{"from=yesterday", "interval=fortnight", "from=2026-05-02&to=2026-05-01", "from=2000-01-01&to=2026-01-01&interval=hour"} {
		if code, got := h.api(key, http.MethodGet, "/api/v1/reports/overview?"+q, nil); code != http.StatusUnprocessableEntity || got["error"] == nil {
			t.Errorf("%s: got %d %v, want 422", q, code, got)
		}
	}
	g := h.srv.general()
	g.Timezone = "Europe/Paris"
	if _, err := h.st.SaveGeneral(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	h.srv.generalCache.Store(nil)
	// Clocks go back in Paris on 25 October 2026: that day has 25 hours.
	for q, want := range map[string]int{"from=2026-10-25&to=2026-10-25&interval=hour": 25, "from=2026-03-29&to=2026-03-29&interval=hour": 23,
		"from=2026-01-01&to=2026-12-31&interval=month": 12, "from=2026-10-01T00:00:00Z&to=2026-10-08T00:00:00Z": 8} {
		code, got := h.api(key, http.MethodGet, "/api/v1/reports/overview?"+q, nil)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %v", q, code, got)
		}
		if n := len(got["data"].(map[string]any)["points"].([]any)); n != want {
			t.Errorf("%s: %d points, want %d", q, n, want)
		}
	}
}
