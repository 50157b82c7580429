package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"herald/mailer/smtptest"
	"herald/scheduler/outbound"
	"herald/store"
)

// sendingHarness is a harness whose campaigns really go out: its
// dispatcher runs, and a loopback SMTP server receives them.
func sendingHarness(t testing.TB, opts smtptest.Options) (*harness, *outbound.Dispatcher, *smtptest.Server) {
	sink := smtptest.Start(t, opts)
	h := newHarness(t)
	d := h.srv.out.Dispatcher()
	runWorker(t, d)
	return h, d, sink
}

// readyToSend gives the harness what a campaign needs to go out: a relay to
// sink with conns connections, a sender, a public URL and a timezone.
func (h *harness) readyToSend(sink *smtptest.Server, conns int, tz string) {
	h.t.Helper()
	bg := context.Background()
	if _, err := h.st.CreateRelay(bg, store.RelayInput{Name: "Sink", Kind: "smtp", Host: sink.Host(), Port: sink.Port(), TLS: "none", MaxConnections: conns, Enabled: true}); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.st.SaveGeneral(bg, store.General{OrgName: "Bakery", PostalAddress: "1 Mill Lane", FromName: "Bakery", FromEmail: "news@bakery.test",
		BaseURL: "https://news.bakery.test", Timezone: tz}); err != nil {
		h.t.Fatal(err)
	}
	h.srv.generalCache.Store(nil)
}

// TestAPICampaignLifecycle drives a campaign through the API: create, check
// what is missing, send to a real loopback relay, watch it finish, and read
// its stats and recipients.
func TestAPICampaignLifecycle(t *testing.T) {
	t.Parallel()
	h, _, sink := sendingHarness(t, smtptest.Options{})
	ctx := context.Background()

	bg := context.Background()
	key := h.apiKey(store.ScopeFull)
	news, _ := h.st.CreateList(bg, store.ListInput{Name: new("News"), Visibility: new(store.VisibilityPublic)})
	for i := range 30 {
		e := fmt.Sprintf("reader%02d@example.com", i)
		if _, _, err := h.st.CreateContact(bg, store.ContactInput{Email: &e, FirstName: new(fmt.Sprintf("Reader%d", i)), Lists: []int64{news.ID}, Source: "test"}, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := h.st.AddSuppression(bg, store.SuppressionInput{Kind: store.SuppressEmail, Value: "reader07@example.com"}); err != nil {
		t.Fatal(err)
	}

	code, out := h.api(key, http.MethodPost, "/api/v1/campaigns", map[string]any{"name": "May news", "subject": "Hi {{.Contact.FirstName}}",
		"markdown": "Hello **{{.Contact.FirstName}}**", "list_ids": []int64{news.ID}})
	if code != http.StatusCreated {
		t.Fatalf("create: got %d %v", code, out)
	}
	c := audData(t, out)
	path := "/api/v1/campaigns/" + itoa(audID(c))
	if c["status"] != "draft" || c["markdown"] != "Hello **{{.Contact.FirstName}}**" {
		t.Errorf("created: got %v", c)
	}
	for field, payload := range map[string]map[string]any{
		"relay_id":   {"name": "Bad", "relay_id": "x"},
		"list_ids":   {"name": "Bad", "list_ids": []int64{99}},
		"from_email": {"name": "Bad", "from_email": "nobody"},
	} {
		code, out := h.api(key, http.MethodPost, "/api/v1/campaigns", payload)
		if _, f := audError(out); code != http.StatusUnprocessableEntity || f[field] == nil {
			t.Errorf("bad %s: got %d %v, want 422 naming it", field, code, out)
		}
	}

	// Nothing to send through, no sender and no public URL yet: each is named.
	code, out = h.api(key, http.MethodPost, path+"/send", nil)
	if _, f := audError(out); code != http.StatusUnprocessableEntity || f["relay_id"] == nil || f["from_email"] == nil || f["status"] == nil {
		t.Fatalf("send without setup: got %d %v, want 422 naming relay_id, from_email and status", code, out)
	}
	h.readyToSend(sink, 2, "UTC")

	// A test send: rendered for a chosen contact, marked [TEST], recorded nowhere.
	reader3, _ := h.st.ContactByEmail(bg, "reader03@example.com")
	code, out = h.api(key, http.MethodPost, path+"/test", map[string]any{"emails": []string{"me@bakery.test"}, "contact_id": reader3.ID})
	if res, _ := audData(t, out)["results"].([]any); code != http.StatusOK || len(res) != 1 || res[0].(map[string]any)["delivered"] != true {
		t.Fatalf("test send: got %d %v", code, out)
	}
	if msgs := sink.Messages(); len(msgs) != 1 || msgs[0].To[0] != "me@bakery.test" || !strings.Contains(string(msgs[0].Data), "Subject: [TEST] Hi Reader3") {
		t.Errorf("test message: got %d messages, want one to me@bakery.test with the [TEST] subject", len(msgs))
	}
	if code, out := h.api(key, http.MethodPost, path+"/test", map[string]any{"emails": []string{"a@b.test", "nobody"}}); code != http.StatusUnprocessableEntity {
		t.Errorf("test send to a bad address: got %d %v, want 422", code, out)
	}
	if n := countSends(t, h, audID(c)); n != 0 {
		t.Errorf("sends after a test: got %d, want none", n)
	}

	code, out = h.api(key, http.MethodPost, path+"/send", nil)
	if code != http.StatusAccepted || audData(t, out)["status"] != "sending" {
		t.Fatalf("send: got %d %v, want 202 and sending", code, out)
	}
	if code, out := h.api(key, http.MethodPatch, path, map[string]any{"subject": "Changed"}); code != http.StatusUnprocessableEntity {
		t.Errorf("edit while sending: got %d %v, want 422", code, out)
	}
	if code, _ := h.api(key, http.MethodDelete, path, nil); code != http.StatusUnprocessableEntity {
		t.Errorf("delete while sending: got %d, want 422", code)
	}

	deadline := time.Now().Add(20 * time.Second)
	for {
		_, out = h.api(key, http.MethodGet, path, nil)
		if audData(t, out)["status"] == "sent" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign never finished: %v", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, out = h.api(key, http.MethodGet, path+"/stats", nil)
	stats := audData(t, out)
	if stats["recipients"] != 29.0 || stats["sent"] != 29.0 || stats["suppressed"] != 1.0 || stats["queued"] != 0.0 {
		t.Errorf("stats: got %v, want 29 sent and 1 suppressed", stats)
	}
	// The relay's count of the day has them, for its daily quota.
	if _, out := h.api(key, http.MethodGet, "/api/v1/relays", nil); out["data"].([]any)[0].(map[string]any)["sent_today"] != 29.0 {
		t.Errorf("relay sent_today: %v, want 29", out["data"].([]any)[0].(map[string]any)["sent_today"])
	}
	if got := len(sink.Messages()); got != 1+29 {
		t.Errorf("delivered: got %d, want the test and 29", got)
	}
	m := sink.Messages()[1]
	if !strings.Contains(string(m.Data), "List-Unsubscribe: <https://news.bakery.test/u/") || !strings.Contains(string(m.Data), ">, <mailto:news@bakery.test?subject=unsubscribe>") ||
		!strings.Contains(string(m.Data), "Subject: Hi Reader") {
		t.Errorf("message: want the recipient's subject and an unsubscribe link on the public URL:\n%.600s", m.Data)
	}

	// The public list's archive has the campaign, addressed to nobody.
	entries, _ := h.st.ArchiveEntries(bg, news.ID, 10)
	if len(entries) != 1 || entries[0].Title != "Hi" || strings.Contains(entries[0].HTML, "Reader") || !strings.Contains(entries[0].HTML, "Hello <strong></strong>") {
		t.Fatalf("archive entry: got %+v, want one, rendered for nobody", entries)
	}
	if page := body(t, h.get("/archive/"+itoa(news.ID))); !strings.Contains(page, "/archive/"+itoa(news.ID)+"/"+itoa(entries[0].ID)) {
		t.Errorf("archive page: want the campaign listed, got %.400q", page)
	}

	// The contact's campaigns, in the API and on their page.
	code, out = h.api(key, http.MethodGet, "/api/v1/contacts/"+itoa(reader3.ID)+"/sends", nil)
	if rows, _ := out["data"].([]any); code != http.StatusOK || len(rows) != 1 || rows[0].(map[string]any)["campaign_name"] != "May news" ||
		rows[0].(map[string]any)["status"] != "sent" {
		t.Errorf("contact sends: got %d %v", code, out)
	}
	h.signIn()
	if page := body(t, h.get("/contacts/"+itoa(reader3.ID))); !strings.Contains(page, "<td>May news</td>") {
		t.Errorf("contact page: want the campaign in its Campaigns section")
	}

	// Each message's web view shows the campaign as that recipient got it.
	view := strings.TrimPrefix(h.srv.out.Links(ctx).Campaign(reader3.ID, int64(audID(c))).WebView, "https://news.bakery.test")
	if resp := h.get(view); resp.StatusCode != http.StatusOK {
		t.Errorf("web view: got %d, want 200", resp.StatusCode)
	} else if page := body(t, resp); !strings.Contains(page, "Hello <strong>Reader3</strong>") || !strings.Contains(page, "1 Mill Lane") {
		t.Errorf("web view: want the campaign rendered for Reader3, got %.300q", page)
	}
	if resp := h.get(view[:len(view)-2] + "xx"); resp.StatusCode == http.StatusOK {
		t.Errorf("web view with a damaged token: got 200")
	}

	code, out = h.api(key, http.MethodGet, path+"/recipients?status=sent&per_page=10&page=3", nil)
	rows, _ := out["data"].([]any)
	if code != http.StatusOK || len(rows) != 9 || out["meta"].(map[string]any)["total"] != 29.0 {
		t.Errorf("recipients page 3: got %d, %d rows, %v", code, len(rows), out["meta"])
	} else if r := rows[0].(map[string]any); r["status"] != "sent" || !strings.HasPrefix(r["last_response"].(string), "250") {
		t.Errorf("recipient row: got %v", r)
	}
	// Walked by cursor, every recipient comes once, in id order; sorted by
	// email, they come a–z.
	ids := cursorWalk(t, h, key, path+"/recipients?per_page=10")
	if len(ids) != 29 || !slices.IsSorted(ids) || slices.Compact(slices.Clone(ids))[28] != ids[28] {
		t.Errorf("recipients by cursor: got %v, want 29 ids in order", ids)
	}
	code, out = h.api(key, http.MethodGet, path+"/recipients?sort=email&order=desc&per_page=2", nil)
	if rows, _ := out["data"].([]any); code != http.StatusOK || len(rows) != 2 || rows[0].(map[string]any)["email"].(string) < rows[1].(map[string]any)["email"].(string) {
		t.Errorf("recipients by email, z–a: got %d %v", code, out)
	}
	if code, _ := h.api(key, http.MethodGet, path+"/recipients?status=lost", nil); code != http.StatusUnprocessableEntity {
		t.Errorf("recipients with a bad status: got %d, want 422", code)
	}
	if code, out := h.api(key, http.MethodPost, path+"/resend-failed", nil); code != http.StatusOK || audData(t, out)["queued"] != 0.0 {
		t.Errorf("resend with nobody failed: got %d %v, want 0 queued", code, out)
	}
	code, out = h.api(key, http.MethodPost, path+"/duplicate", nil)
	if dup := audData(t, out); code != http.StatusCreated || dup["name"] != "Copy of May news" || dup["status"] != "draft" ||
		dup["markdown"] != "Hello **{{.Contact.FirstName}}**" || fmt.Sprint(dup["list_ids"]) != fmt.Sprint([]any{float64(news.ID)}) {
		t.Errorf("duplicate: got %d %v", code, out)
	}
	if code, out := h.api(key, http.MethodPost, path+"/pause", nil); code != http.StatusUnprocessableEntity {
		t.Errorf("pause a sent campaign: got %d %v, want 422", code, out)
	}

	// Scheduling: a local time is read in the organisation's timezone, a
	// past time is refused, and the job starts the campaign when it is due.
	code, out = h.api(key, http.MethodPost, "/api/v1/campaigns", map[string]any{"name": "June news", "subject": "June",
		"text": "Hello {{.Contact.Email}}", "list_ids": []int64{news.ID}})
	if code != http.StatusCreated {
		t.Fatalf("create the second campaign: got %d %v", code, out)
	}
	june := "/api/v1/campaigns/" + itoa(audID(audData(t, out)))
	if _, err := h.st.SaveGeneral(bg, store.General{OrgName: "Bakery", PostalAddress: "1 Mill Lane", FromName: "Bakery", FromEmail: "news@bakery.test",
		BaseURL: "https://news.bakery.test", Timezone: "Europe/Paris"}); err != nil {
		t.Fatal(err)
	}
	h.srv.generalCache.Store(nil)
	paris, _ := time.LoadLocation("Europe/Paris")
	local := time.Now().In(paris).Add(48 * time.Hour).Truncate(time.Minute)
	code, out = h.api(key, http.MethodPost, june+"/schedule", map[string]any{"send_at": local.Format("2006-01-02T15:04")})
	if code != http.StatusOK || audData(t, out)["status"] != "scheduled" || audData(t, out)["send_at"] != local.UTC().Format(time.RFC3339) {
		t.Fatalf("schedule in local time: got %d %v, want scheduled at %s", code, out, local.UTC().Format(time.RFC3339))
	}
	for _, bad := range []string{"yesterday", time.Now().Add(-time.Hour).Format(time.RFC3339)} {
		if code, out := h.api(key, http.MethodPost, june+"/schedule", map[string]any{"send_at": bad}); code != http.StatusUnprocessableEntity {
			t.Errorf("schedule at %q: got %d %v, want 422", bad, code, out)
		}
	}
	// The schedule falls due on the store's clock, which the test moves
	// rather than waiting.
	clock := h.setClock()
	soon := clock.Now().Add(time.Hour)
	if code, out := h.api(key, http.MethodPost, june+"/schedule", map[string]any{"send_at": soon.Format(time.RFC3339Nano)}); code != http.StatusOK {
		t.Fatalf("schedule soon: got %d %v", code, out)
	}
	if err := h.srv.out.StartDue(ctx); err != nil {
		t.Fatal(err)
	}
	if _, out := h.api(key, http.MethodGet, june, nil); audData(t, out)["status"] != "scheduled" {
		t.Fatalf("before its time: got %v, want still scheduled", audData(t, out)["status"])
	}
	clock.Advance(time.Hour + time.Second)
	if err := h.srv.out.StartDue(ctx); err != nil {
		t.Fatal(err)
	}
	waitSent := time.Now().Add(20 * time.Second)
	for {
		if _, out := h.api(key, http.MethodGet, june, nil); audData(t, out)["status"] == "sent" {
			break
		}
		if time.Now().After(waitSent) {
			t.Fatal("the scheduled campaign never finished")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := len(sink.Messages()); got != 1+58 {
		t.Errorf("delivered after both campaigns: got %d, want the test and 58", got)
	}
}

func countSends(t *testing.T, h *harness, campaignID int64) int {
	t.Helper()
	n, err := h.st.SendCounts(context.Background(), campaignID)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, v := range n {
		total += v
	}
	return total
}
