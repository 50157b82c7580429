package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"herald/mailer/smtptest"
	"herald/store"
)

var trackingURL = regexp.MustCompile(`https?://[a-z0-9.:]+/([oc])/([A-Za-z0-9_-]+)`)

// sentTracked sends a campaign with two links to n readers and returns, per
// reader, the open pixel and click redirect paths their message carries.
func sentTracked(t testing.TB, h *harness, sink *smtptest.Server, n int, tracking store.Tracking) (int64, []map[string][]string) {
	return sentTrackedTo(t, h, sink, n, tracking, "https://shop.example")
}

// sentTrackedTo is sentTracked with the shop's links under shop.
func sentTrackedTo(t testing.TB, h *harness, sink *smtptest.Server, n int, tracking store.Tracking, shop string) (int64, []map[string][]string) {
	t.Helper()
	bg := context.Background()
	h.readyToSend(sink, 2, "UTC")
	news, _ := h.st.CreateList(bg, store.ListInput{Name: new("News"), Visibility: new(store.VisibilityPublic)})
	for i := range n {
		e := fmt.Sprintf("reader%02d@example.com", i)
		if _, _, err := h.st.CreateContact(bg, store.ContactInput{Email: &e, Lists: []int64{news.ID}, Source: "test"}, false); err != nil {
			t.Fatal(err)
		}
	}
	c, err := h.st.CreateCampaign(bg, store.CampaignInput{Name: new("Spring"), Subject: new("Spring bread"), Format: new("html"),
		Body: new(`<p><a href="` + shop + `/loaf?size=big">Loaf</a> <a href="mailto:hi@bakery.test">Mail us</a> ` +
			`<a data-notrack href="https://private.example/">Private</a> <a href="` + shop + `/cake">Cake</a></p>`),
		ListIDs: &[]int64{news.ID}, Tracking: &tracking})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.srv.out.Send(bg, c.ID); err != nil {
		t.Fatal(err)
	}
	msgs := sink.Wait(n, 20*time.Second)
	var out []map[string][]string
	for _, m := range msgs {
		parsed, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(quotedprintable.NewReader(parsed.Body))
		if strings.Contains(string(body), "data-notrack") || !strings.Contains(string(body), `href="https://private.example/"`) ||
			!strings.Contains(string(body), `href="mailto:hi@bakery.test"`) {
			t.Errorf("untracked links changed:\n%s", body)
		}
		found := map[string][]string{}
		for _, u := range trackingURL.FindAllStringSubmatch(string(body), -1) {
			found[u[1]] = append(found[u[1]], "/"+u[1]+"/"+u[2])
		}
		out = append(out, found)
	}
	return c.ID, out
}

// TestTrackingOpensAndClicks sends a tracked campaign, opens and clicks
// its messages as people and as machines, and checks what is counted.
func TestTrackingOpensAndClicks(t *testing.T) {
	t.Parallel()
	h, _, sink := sendingHarness(t, smtptest.Options{})
	clock := h.setClock()
	id, msgs := sentTracked(t, h, sink, 3, store.Tracking{Opens: true, Clicks: true, UTMSource: "herald", UTMCampaign: "spring"})
	for i, m := range msgs {
		// Two tracked links in the HTML, twice each counting the text part.
		if len(m["o"]) != 1 || len(m["c"]) != 4 {
			t.Fatalf("message %d: got %d pixels and %d redirects, want 1 and 4: %v", i, len(m["o"]), len(m["c"]), m)
		}
	}
	clock.Advance(time.Hour)
	person := map[string]string{"User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15"}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	hit := func(method, path string, hdr map[string]string) *http.Response {
		res := h.request(noRedirect, method, path, nil, hdr)
		res.Body.Close()
		return res
	}

	// Reader 0 opens twice and clicks the loaf link; reader 1 only clicks
	// (images off); reader 2's copy is opened by Apple's proxy and
	// scanned with HEAD requests.
	for range 2 {
		if res := hit(http.MethodGet, msgs[0]["o"][0], person); res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/gif" {
			t.Fatalf("open: got %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
	}
	res := hit(http.MethodGet, msgs[0]["c"][0], person)
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusFound || loc != "https://shop.example/loaf?size=big&utm_source=herald&utm_campaign=spring" {
		t.Fatalf("click: got %d to %q", res.StatusCode, loc)
	}
	hit(http.MethodGet, msgs[1]["c"][1], person)
	hit(http.MethodGet, msgs[2]["o"][0], map[string]string{"User-Agent": "Mozilla/5.0"})
	hit(http.MethodHead, msgs[2]["c"][0], person)

	// Forged, damaged or foreign tokens get 404 and never a redirect.
	good := msgs[0]["c"][0]
	damaged := good[:len(good)-2] + "AA"
	if damaged == good {
		damaged = good[:len(good)-2] + "BB" // the token happened to end so
	}
	for _, bad := range []string{damaged, "/c/" + strings.Repeat("A", 40), "/c/x", msgs[0]["o"][0][:3] + good[3:len(good)-1]} {
		if res := hit(http.MethodGet, bad, person); res.StatusCode != http.StatusNotFound || res.Header.Get("Location") != "" {
			t.Errorf("GET %s: got %d to %q, want 404", bad, res.StatusCode, res.Header.Get("Location"))
		}
	}
	if res := hit(http.MethodGet, "/o/"+strings.TrimPrefix(good, "/c/"), person); res.StatusCode != http.StatusNotFound {
		t.Errorf("a click token as a pixel: got %d, want 404", res.StatusCode)
	}

	got, err := h.st.CampaignCounts(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	want := store.Counts{Sent: 3, Opens: 4, HumanOpens: 3, UniqueOpens: 3, UniqueHumanOpens: 2, Clicks: 3, HumanClicks: 2, UniqueClicks: 3, UniqueHumanClicks: 2}
	if got != want {
		t.Errorf("counts:\n got %+v\nwant %+v", got, want)
	}
	// The page of the reader who opened and clicked (the sink took the
	// messages in any order) shows their last open and their opens and clicks.
	h.signIn()
	found := false
	for i := range 3 {
		reader, _ := h.st.ContactByEmail(context.Background(), fmt.Sprintf("reader%02d@example.com", i))
		page := body(t, h.get("/contacts/"+itoa(reader.ID)))
		if strings.Contains(page, "Opened “Spring”") && strings.Contains(page, "Clicked https://shop.example/loaf?size=big&amp;utm_source=herald&amp;utm_campaign=spring in “Spring”") &&
			!strings.Contains(page, "Last opened an email: never") && !strings.Contains(page, "Last clicked a link: never") {
			found = true
		}
	}
	if !found {
		t.Error("no reader's page shows their open, their click, and their last open and click")
	}
	links, _ := h.st.CampaignLinks(context.Background(), id, 10)
	if len(links) != 2 || links[0].URL != "https://shop.example/loaf?size=big&utm_source=herald&utm_campaign=spring" || links[0].Clicks != 2 || links[0].UniqueHumanClicks != 1 {
		t.Errorf("links: got %+v", links)
	}
}

// TestTrackingOff checks that a campaign with tracking off carries no
// pixel and no redirect. (Privacy mode is TestHitsPrivacyAndOwnership's.)
func TestTrackingOff(t *testing.T) {
	t.Parallel()
	h, _, sink := sendingHarness(t, smtptest.Options{})
	_, msgs := sentTracked(t, h, sink, 2, store.Tracking{})
	for _, m := range msgs {
		if len(m) != 0 {
			t.Errorf("tracking off: got %v", m)
		}
	}
}

// TestTrackingSettings sets a campaign's tracking and the install's
// through the API and checks what the campaign will send with.
func TestTrackingSettings(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	code, out := h.api(key, http.MethodPost, "/api/v1/campaigns", map[string]any{"name": "Spring", "markdown": "Hi",
		"tracking": map[string]any{"opens": false, "clicks": true, "utm_source": "herald"}})
	if code != http.StatusCreated {
		t.Fatalf("create: got %d %v", code, out)
	}
	c := audData(t, out)
	if tr := c["tracking"].(map[string]any); tr["opens"] != false || tr["clicks"] != true || tr["utm_source"] != "herald" {
		t.Errorf("tracking: got %v", tr)
	}
	code, out = h.api(key, http.MethodPatch, "/api/v1/settings", map[string]any{"no_click_tracking": true, "tracking_privacy": true, "soft_bounce_limit": 5})
	if code != http.StatusOK {
		t.Fatalf("settings: got %d %v", code, out)
	}
	g, _ := h.st.General(context.Background())
	if !g.NoClickTracking || !g.TrackingPrivacy || g.SoftBounceLimit != 5 || g.NoOpenTracking {
		t.Errorf("general: got %+v", g)
	}
	if code, out := h.api(key, http.MethodPatch, "/api/v1/settings", map[string]any{"soft_bounce_limit": 0.5}); code != http.StatusBadRequest && code != http.StatusUnprocessableEntity {
		t.Errorf("a soft bounce limit of 0.5: got %d %v", code, out)
	}
}

// TestTransactionalTracking asks for open and click tracking on one
// message, follows its link, and reads the click in its history; a message
// that does not ask carries neither.
func TestTransactionalTracking(t *testing.T) {
	t.Parallel()
	h, sink := messageHarness(t, smtptest.Options{})
	clock := h.setClock()
	key := h.apiKey(store.ScopeFull)
	send := func(payload map[string]any) (int64, string) {
		code, out := h.api(key, http.MethodPost, "/api/v1/messages", payload)
		if code != http.StatusAccepted {
			t.Fatalf("create: got %d %v", code, out)
		}
		id := audID(audData(t, out))
		waitMessage(t, h, key, id, "sent")
		msgs := sink.Messages()
		m, _ := mail.ReadMessage(bytes.NewReader(msgs[len(msgs)-1].Data))
		body, _ := io.ReadAll(quotedprintable.NewReader(m.Body))
		return id, string(body)
	}
	_, plain := send(map[string]any{"to": "a@example.com", "subject": "Receipt", "html": `<p><a href="https://shop.example/order/1">Order</a></p>`})
	if strings.Contains(plain, "/o/") || strings.Contains(plain, "/c/") || !strings.Contains(plain, `href="https://shop.example/order/1"`) {
		t.Errorf("untracked message carries tracking:\n%s", plain)
	}
	id, tracked := send(map[string]any{"to": "b@example.com", "subject": "Receipt", "html": `<p><a href="https://shop.example/order/2">Order</a></p>`,
		"track_opens": true, "track_clicks": true})
	found := trackingURL.FindAllStringSubmatch(tracked, -1)
	if len(found) < 2 {
		t.Fatalf("tracked message: got %v in\n%s", found, tracked)
	}
	clock.Advance(time.Minute)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, f := range found {
		if f[1] != "c" {
			continue
		}
		res := h.request(noRedirect, http.MethodGet, "/c/"+f[2], nil, map[string]string{"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"})
		res.Body.Close()
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusFound || loc != "https://shop.example/order/2" {
			t.Fatalf("click: got %d to %q", res.StatusCode, loc)
		}
		break
	}
	m := waitMessage(t, h, key, id, "sent")
	if got := eventStatuses(m); got != "queued sent click" {
		t.Errorf("history: got %q, want queued sent click", got)
	}
	if m["track_opens"] != true || m["track_clicks"] != true {
		t.Errorf("message: got %v", m)
	}
	counts, _ := h.st.CampaignCounts(context.Background(), 0)
	if counts.Clicks != 1 || counts.UniqueHumanClicks != 1 || counts.UniqueOpens != 1 {
		t.Errorf("transactional counts: got %+v", counts)
	}
}

// TestReportsOfUntrackedAndPrivateCampaigns checks that a campaign's report
// says what it did not track instead of showing zeros, and that privacy
// mode shows every open with no list of who opened.
func TestReportsOfUntrackedAndPrivateCampaigns(t *testing.T) {
	t.Parallel()
	h, _, sink := sendingHarness(t, smtptest.Options{})
	h.signIn()
	clock := h.setClock()
	untracked, _ := sentTracked(t, h, sink, 2, store.Tracking{})
	page := body(t, h.get("/campaigns/"+itoa(untracked)+"/report"))
	for _, want := range []string{"tracked neither opens nor clicks", "not tracked"} {
		if !strings.Contains(page, want) {
			t.Errorf("untracked campaign's report lacks %q", want)
		}
	}
	if strings.Contains(page, "Send to those who did not open") {
		t.Error("an untracked campaign's report offers to resend to those who did not open")
	}

	g, _ := h.st.General(context.Background())
	g.TrackingPrivacy = true
	if _, err := h.st.SaveGeneral(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	c, err := h.st.CreateCampaign(context.Background(), store.CampaignInput{Name: new("Private"), Subject: new("Hi"), Format: new("html"),
		Body: new(`<p><a href="https://shop.example/x">x</a></p>`), ListIDs: &[]int64{1}})
	if err != nil {
		t.Fatal(err)
	}
	before := sink.Count()
	if err := h.srv.out.Send(context.Background(), c.ID); err != nil {
		t.Fatal(err)
	}
	msgs := sink.Wait(before+2, 20*time.Second)[before:]
	clock.Advance(time.Hour)
	for _, m := range msgs {
		parsed, _ := mail.ReadMessage(bytes.NewReader(m.Data))
		raw, _ := io.ReadAll(quotedprintable.NewReader(parsed.Body))
		for _, u := range trackingURL.FindAllStringSubmatch(string(raw), -1) {
			if u[1] == "o" {
				res := h.request(http.DefaultClient, http.MethodGet, "/o/"+u[2], nil, map[string]string{"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"})
				res.Body.Close()
			}
		}
	}
	page = body(t, h.get("/campaigns/"+itoa(c.ID)+"/report"))
	if !strings.Contains(page, "privacy mode") || strings.Contains(page, "Send to those who did not open") ||
		!strings.Contains(page, "all opens, not unique") {
		t.Errorf("privacy-mode report: want the note, every open and no resend to those who did not open")
	}
	counts, _ := h.st.CampaignCounts(context.Background(), c.ID)
	if counts.Opens != 2 || counts.UniqueOpens != 0 {
		t.Errorf("privacy-mode counts: got %+v, want 2 opens, none unique", counts)
	}
}
