package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"herald/mailer/smtptest"
	"herald/store"
)

// TestCampaignPagesEditor drives the editor with plain forms: what stops a
// campaign is named beside its field with the typed form kept, a schedule
// needs a time, and a good one schedules and unschedules.
func TestCampaignPagesEditor(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	bg := context.Background()

	if resp := h.postForm("/campaigns", url.Values{"name": {""}}, nil); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(body(t, resp), "Give the campaign a name") {
		t.Fatalf("nameless campaign: got %d, want 422 asking for a name", resp.StatusCode)
	}
	resp := h.postForm("/campaigns", url.Values{"name": {"Autumn"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/campaigns/1" {
		t.Fatalf("create: got %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	page := body(t, h.get("/campaigns/1"))
	for _, want := range []string{`id="campaign-form"`, `class="preview-frame"`, "Save and send now", "Save and schedule"} {
		if !strings.Contains(page, want) {
			t.Errorf("editor lacks %q", want)
		}
	}

	form := url.Values{"name": {"Autumn"}, "subject": {"Leaves, {{.Contact.FirstName}}"}, "format": {"markdown"}, "body": {"Hello"}}
	resp = h.postForm("/campaigns/1/send", form, nil)
	page = body(t, resp)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("send with nothing set up: got %d, want 422", resp.StatusCode)
	}
	for _, want := range []string{"Choose at least one list or a segment", "No relay to send through", "Set the public base URL", `value="Leaves, {{.Contact.FirstName}}"`} {
		if !strings.Contains(page, want) {
			t.Errorf("refused send page lacks %q", want)
		}
	}
	if c, _ := h.st.Campaign(bg, 1); c.Status != store.CampaignDraft {
		t.Errorf("refused send: status %s, want draft", c.Status)
	}

	bad := url.Values{"name": {"Renamed"}, "list_ids": {"abc"}}
	if resp := h.postForm("/campaigns/1", bad, nil); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body(t, resp), "Choose from the menu") {
		t.Errorf("bad list id: got %d", resp.StatusCode)
	}
	if c, _ := h.st.Campaign(bg, 1); c.Name != "Autumn" {
		t.Errorf("a refused save changed the name to %q", c.Name)
	}

	sink := smtptest.Start(t, smtptest.Options{})
	h.readyToSend(sink, 1, "America/New_York")
	news, _ := h.st.CreateList(bg, store.ListInput{Name: new("News")})
	form.Set("list_ids", strconv.FormatInt(news.ID, 10))

	if resp := h.postForm("/campaigns/1/schedule", form, nil); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(body(t, resp), "Choose the day and time") {
		t.Errorf("schedule without a time: got %d", resp.StatusCode)
	}
	// The API goes through the same flow, and says the same.
	key := h.apiKey(store.ScopeFull)
	for _, sendAt := range []string{"", "  "} {
		code, out := h.api(key, http.MethodPost, "/api/v1/campaigns/1/schedule", map[string]any{"send_at": sendAt})
		if fields, _ := out["error"].(map[string]any)["fields"].(map[string]any); code != http.StatusUnprocessableEntity || fields["send_at"] != "Choose the day and time to start it." {
			t.Errorf("API schedule at %q: got %d %v, want 422 asking for the day and time", sendAt, code, out)
		}
	}
	ny, _ := time.LoadLocation("America/New_York")
	at := time.Now().In(ny).Add(48 * time.Hour).Truncate(time.Minute)
	form.Set("send_at", at.Format("2006-01-02T15:04"))
	if resp := h.postForm("/campaigns/1/schedule", form, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("schedule: got %d: %s", resp.StatusCode, body(t, resp))
	}
	c, _ := h.st.Campaign(bg, 1)
	if c.Status != store.CampaignScheduled || !c.SendAt.Equal(at) {
		t.Fatalf("scheduled: %s at %v, want scheduled at %v", c.Status, c.SendAt, at)
	}
	if page := body(t, h.get("/campaigns/1")); !strings.Contains(page, at.Format("Mon 2 Jan 2006 at 15:04")+" (America/New_York)") {
		t.Errorf("the scheduled page does not say when, in the organisation's timezone")
	}
	if resp := h.postForm("/campaigns/1/unschedule", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("unschedule: got %d", resp.StatusCode)
	}
	if c, _ := h.st.Campaign(bg, 1); c.Status != store.CampaignDraft {
		t.Errorf("unscheduled: status %s, want draft", c.Status)
	}
	if page := body(t, h.get("/campaigns?status=draft")); !strings.Contains(page, `href="/campaigns/1"`) {
		t.Errorf("the drafts list lacks the campaign")
	}
}

// TestCampaignPagesProgress reads a started campaign's page: its progress
// card with the rate since the last look and the time left, its recipients
// by status, and the actions a started campaign refuses.
func TestCampaignPagesProgress(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	bg := context.Background()
	sink := smtptest.Start(t, smtptest.Options{})
	h.readyToSend(sink, 1, "UTC")
	news, _ := h.st.CreateList(bg, store.ListInput{Name: new("News")})
	for i := range 20 {
		e := fmt.Sprintf("p%02d@example.com", i)
		if _, _, err := h.st.CreateContact(bg, store.ContactInput{Email: &e, Lists: []int64{news.ID}, Source: "test"}, false); err != nil {
			t.Fatal(err)
		}
	}
	x, err := h.st.CreateCampaign(bg, store.CampaignInput{Name: new("Winter"), Subject: new("Snow"), Format: new("markdown"), Body: new("Hi"),
		ListIDs: &[]int64{news.ID}})
	if err != nil {
		t.Fatal(err)
	}
	// Started, but with no dispatcher here: the outbox is filled and five
	// messages recorded as the dispatcher would.
	if err := h.srv.out.Send(bg, x.ID); err != nil {
		t.Fatal(err)
	}
	x, _ = h.st.Campaign(bg, x.ID)
	a, _ := h.st.CampaignAudience(bg, x)
	if _, err := h.st.Materialise(bg, x.ID, a); err != nil {
		t.Fatal(err)
	}
	claimed, _ := h.st.ClaimSends(bg, x.ID, 5, time.Minute)
	var outs []store.Outcome
	for _, sd := range claimed {
		outs = append(outs, store.Outcome{SendID: sd.ID, Status: store.SendSent, Code: 250, Response: "2.0.0 OK"})
	}
	if err := h.st.RecordOutcomes(bg, outs); err != nil {
		t.Fatal(err)
	}

	path := "/campaigns/" + strconv.FormatInt(x.ID, 10)
	tenSecondsAgo := time.Now().Add(-10 * time.Second).UnixMilli()
	card := body(t, h.get(fmt.Sprintf("%s/progress?done=0&at=%d", path, tenSecondsAgo)))
	for _, want := range []string{`data-stat="sent">5<`, `data-stat="remaining">15<`, `data-stat="rate">0.5/s<`, `data-stat="left">30 s<`,
		`hx-get="` + path + `/progress?done=5&amp;at=`} {
		if !strings.Contains(card, want) {
			t.Errorf("progress card lacks %q:\n%s", want, card)
		}
	}
	page := body(t, h.get(path+"/recipients?status=sent"))
	if n := strings.Count(page, `<span class="badge badge-ok">sent</span>`); n != 5 || !strings.Contains(page, "250 2.0.0 OK") {
		t.Errorf("sent recipients: %d rows, want 5 answered 250 2.0.0 OK", n)
	}
	if page := body(t, h.get(path+"/recipients?status=queued")); !strings.Contains(page, "Queued (15)") || strings.Count(page, "badge-warn\">queued") != 15 {
		t.Errorf("queued recipients: want 15 rows and the count in the tab:\n%s", page)
	}

	for action, want := range map[string]string{"/resume": "it can become sending only when it is paused", "/delete": "Only a draft can be deleted"} {
		resp := h.postForm(path+action, nil, nil)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: got %d, want a redirect with the reason", action, resp.StatusCode)
		}
		if page := body(t, h.get(resp.Header.Get("Location"))); !strings.Contains(page, want) {
			t.Errorf("%s: the page after lacks %q", action, want)
		}
	}
	resp := h.postForm(path+"/duplicate", nil, nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc == path {
		t.Fatalf("duplicate: got %d to %q", resp.StatusCode, loc)
	}
	if cs, _ := h.st.Campaigns(bg, store.CampaignDraft); len(cs) != 1 || cs[0].Name != "Copy of Winter" {
		t.Errorf("duplicate: drafts %v", cs)
	}
}

// TestCampaignPageSaysWhyItWaits shows a held campaign's reason on its
// progress card, and a paused one's reason for pausing itself.
func TestCampaignPageSaysWhyItWaits(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	bg := context.Background()
	sink := smtptest.Start(t, smtptest.Options{})
	h.readyToSend(sink, 1, "UTC")
	news, _ := h.st.CreateList(bg, store.ListInput{Name: new("News")})
	x, _ := h.st.CreateCampaign(bg, store.CampaignInput{Name: new("Held"), Subject: new("Hi"), Format: new("markdown"), Body: new("Hi"), ListIDs: &[]int64{news.ID}})
	if err := h.srv.out.Send(bg, x.ID); err != nil {
		t.Fatal(err)
	}
	path := "/campaigns/" + strconv.FormatInt(x.ID, 10)
	if err := h.st.HoldCampaign(bg, x.ID, "Relay Sink reached its daily quota (5 messages).", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if page := body(t, h.get(path)); !strings.Contains(page, "Waiting. Relay Sink reached its daily quota") {
		t.Errorf("held campaign page lacks the reason")
	}
	if _, err := h.st.AutoPause(bg, x.ID, "Campaign \"Held\" paused itself: too many bounces."); err != nil {
		t.Fatal(err)
	}
	page := body(t, h.get(path))
	if !strings.Contains(page, `id="paused-reason"`) || !strings.Contains(page, "paused itself: too many bounces") || strings.Contains(page, "Waiting.") {
		t.Errorf("paused campaign page: want the pause reason and no hold")
	}
	key := h.apiKey(store.ScopeFull)
	if _, out := h.api(key, http.MethodGet, "/api/v1"+path, nil); audData(t, out)["paused_reason"] != "Campaign \"Held\" paused itself: too many bounces." {
		t.Errorf("API paused_reason: %v", audData(t, out)["paused_reason"])
	}
}

// TestSettingsSendingSafety saves the auto-pause thresholds and domain
// limits from the form, and names a line it cannot read.
func TestSettingsSendingSafety(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	form := url.Values{"timezone": {"UTC"}, "bounce_pause_percent": {"3"}, "complaint_pause_percent": {"0.05"}, "domain_limits": {"gmail.com 3000\nyahoo.com lots"}}
	resp := h.postForm("/settings", form, nil)
	if page := body(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Line 2: write a domain and a number") ||
		!strings.Contains(page, "yahoo.com lots") {
		t.Fatalf("bad domain limit: got %d", resp.StatusCode)
	}
	form.Set("domain_limits", "GMail.com 3000\n\nyahoo.com 1000/h\n")
	if resp := h.postForm("/settings", form, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: got %d: %s", resp.StatusCode, body(t, resp))
	}
	g, _ := h.st.General(context.Background())
	if g.BouncePausePercent != 3 || g.ComplaintPausePercent != 0.05 || g.DomainLimit("gmail.com") != 3000 || g.DomainLimit("yahoo.com") != 1000 {
		t.Errorf("saved: %+v", g)
	}
	key := h.apiKey(store.ScopeFull)
	code, out := h.api(key, http.MethodPatch, "/api/v1/settings", map[string]any{"domain_limits": []map[string]any{{"domain": "outlook.com", "per_hour": 0}}})
	if _, f := audError(out); code != http.StatusUnprocessableEntity || f["domain_limits"] == nil {
		t.Errorf("API zero limit: got %d %v", code, out)
	}
}

// TestDashboardShowsSendingActivity lists a campaign that paused itself
// and one that is sending, with what has gone out.
func TestDashboardShowsSendingActivity(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	bg := context.Background()
	if page := body(t, h.get("/")); !strings.Contains(page, "Nothing sent yet.") {
		t.Errorf("empty dashboard lacks the hint")
	}
	sink := smtptest.Start(t, smtptest.Options{})
	h.readyToSend(sink, 1, "UTC")
	news, _ := h.st.CreateList(bg, store.ListInput{Name: new("News")})
	var ids []int64
	for _, name := range []string{"Spring", "Summer"} {
		x, _ := h.st.CreateCampaign(bg, store.CampaignInput{Name: new(name), Subject: new("Hi"), Format: new("markdown"), Body: new("Hi"), ListIDs: &[]int64{news.ID}})
		if err := h.srv.out.Send(bg, x.ID); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, x.ID)
	}
	if _, err := h.st.AutoPause(bg, ids[0], `Campaign "Spring" paused itself: too many bounces.`); err != nil {
		t.Fatal(err)
	}
	page := body(t, h.get("/"))
	for _, want := range []string{`Campaign &#34;Spring&#34; paused itself: too many bounces.`, `href="/campaigns/` + strconv.FormatInt(ids[1], 10) + `">Summer</a>`} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
}

// TestRelayTroubleShows marks the relay of a sending campaign as not
// answering, as the dispatcher does: the campaign's page, its progress
// card, the dashboard, the relays page and the API all say so, with the
// error, until it answers again.
func TestRelayTroubleShows(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	bg := context.Background()
	sink := smtptest.Start(t, smtptest.Options{})
	h.readyToSend(sink, 1, "UTC")
	news, _ := h.st.CreateList(bg, store.ListInput{Name: new("News")})
	h.st.CreateContact(bg, store.ContactInput{Email: new("reader@example.com"), Lists: []int64{news.ID}, Source: "test"}, false)
	x, err := h.st.CreateCampaign(bg, store.CampaignInput{Name: new("News"), Subject: new("News"), Format: new("text"), Body: new("Hello"),
		ListIDs: &[]int64{news.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.srv.out.Send(bg, x.ID); err != nil {
		t.Fatal(err)
	}
	relays, _ := h.st.Relays(bg)
	r := relays[0]
	const why = "connect: dial tcp 127.0.0.1:2525: i/o timeout"
	if err := h.st.RelayFailing(bg, r.ID, why); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/campaigns/" + itoa(x.ID), "/campaigns/" + itoa(x.ID) + "/progress", "/", "/settings/relays"} {
		if page := body(t, h.get(path)); !strings.Contains(page, "Relay Sink has been failing since") || !strings.Contains(page, "i/o timeout") {
			t.Errorf("%s does not say the relay is not answering", path)
		}
	}
	key := h.apiKey(store.ScopeFull)
	if _, out := h.api(key, http.MethodGet, "/api/v1/relays/"+itoa(r.ID), nil); audData(t, out)["failing_error"] != why || audData(t, out)["failing_since"] == nil {
		t.Errorf("API relay: got %v, want failing_since and failing_error", out)
	}
	if err := h.st.RelayAnswering(bg, r.ID); err != nil {
		t.Fatal(err)
	}
	if page := body(t, h.get("/campaigns/"+itoa(x.ID))); strings.Contains(page, "has been failing") {
		t.Errorf("the campaign page still shows the trouble after the relay answered")
	}
}

// TestMissedScheduleShows makes a scheduled campaign a draft again with
// the reason it could not start, as the dispatcher does: its page and the
// dashboard say so.
func TestMissedScheduleShows(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	bg := context.Background()
	x, err := h.st.CreateCampaign(bg, store.CampaignInput{Name: new("June")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.ScheduleCampaign(bg, x.ID, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	const why = `Campaign "June" was due at 1 Jun 2026 09:00 UTC but could not start: No relay to send through.`
	if err := h.st.MissSchedule(bg, x.ID, why); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/campaigns/" + itoa(x.ID), "/"} {
		if page := body(t, h.get(path)); !strings.Contains(page, "could not start: No relay to send through.") {
			t.Errorf("%s does not say why the campaign did not start", path)
		}
	}
}
