package web

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"herald/mailer/smtptest"
	"herald/store"
)

// TestBrowserCampaignScheduleAndWatch is what an owner does to send a
// newsletter: create a campaign, choose its list, schedule it in their own
// timezone, then watch it send, pause and resume it on its page, and read
// its recipients. The relay holds messages back when the test says, so the
// page is seen mid-send, and the page must follow without being reloaded.
func TestBrowserCampaignScheduleAndWatch(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	gate := make(chan struct{})
	var mu sync.Mutex
	taken := 0
	h, _, sink := sendingHarness(t, smtptest.Options{RejectRcpt: func(string) error {
		mu.Lock()
		taken++
		n := taken
		mu.Unlock()
		if n > 10 {
			<-gate
		}
		return nil
	}})
	release := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release)
	bg := context.Background()
	news, _ := h.st.CreateList(bg, store.ListInput{Name: new("Bakery news")})
	for i := range 30 {
		e := fmt.Sprintf("fan%02d@example.com", i)
		if _, _, err := h.st.CreateContact(bg, store.ContactInput{Email: &e, FirstName: new("Fan"), Lists: []int64{news.ID}, Source: "test"}, false); err != nil {
			t.Fatal(err)
		}
	}
	h.readyToSend(sink, 1, "Europe/Paris")
	h.createOwner()
	paris, _ := time.LoadLocation("Europe/Paris")
	sendAt := time.Now().In(paris).Add(2 * time.Hour).Truncate(time.Minute)

	base := h.ts.URL
	var callout string
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.CSS(`#email`), ownerEmail),
		chromedp.SendKeys(chromedp.CSS(`#password`), ownerPassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.sidenav`)),
		chromedp.Click(chromedp.Search(`//nav//a[normalize-space()="Campaigns"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "June news"),
		chromedp.Click(chromedp.Search(`//button[text()="Create and edit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#subject`)),
		chromedp.SendKeys(chromedp.CSS(`#subject`), "Fresh bread, {{.Contact.FirstName}}"),
		chromedp.Click(chromedp.Search(`//label[contains(., "Bakery news")]/input`)),
		// A datetime-local field takes its value as typed digits; set it as
		// the picker would.
		chromedp.SetValue(chromedp.CSS(`#send_at`), sendAt.Format("2006-01-02T15:04")),
		chromedp.Click(chromedp.CSS(`#schedule`)),
		chromedp.WaitVisible(chromedp.CSS(`.callout-info`)),
		into(&callout, chromedp.Text(chromedp.CSS(`.callout-info`))),
		screenshot("campaign-scheduled"),
	)
	if err != nil {
		t.Fatalf("create and schedule: %v", err)
	}
	cs, err := h.st.Campaigns(bg, "")
	if err != nil || len(cs) != 1 {
		t.Fatalf("campaigns: %v %v", cs, err)
	}
	c := cs[0]
	if c.Status != store.CampaignScheduled || !c.SendAt.Equal(sendAt) || c.Subject != "Fresh bread, {{.Contact.FirstName}}" || len(c.ListIDs) != 1 {
		t.Fatalf("scheduled campaign: got status %s at %v, subject %q, lists %v; want scheduled at %v (Paris)", c.Status, c.SendAt, c.Subject, c.ListIDs, sendAt)
	}
	if !strings.Contains(callout, "Scheduled to start") || !strings.Contains(callout, "Europe/Paris") {
		t.Errorf("scheduled callout: %q", callout)
	}

	// Two hours pass on the store's clock.
	h.setClock().Advance(2 * time.Hour)
	if err := h.srv.out.StartDue(bg); err != nil {
		t.Fatal(err)
	}
	sink.Wait(10, 30*time.Second)

	page := base + "/campaigns/" + strconv.FormatInt(c.ID, 10)
	stat := func(name string) string { return `document.querySelector('[data-stat="` + name + `"]').textContent` }
	var heading string
	err = chromedp.Do(ctx,
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.CSS(`#campaign-progress`)),
		chromedp.Poll[chromedp.Void](stat("sent")+` === "10"`, chromedp.WithPollingTimeout(20*time.Second)),
		into(&heading, chromedp.Text(chromedp.CSS(`#campaign-progress .card-title`))),
		screenshot("campaign-sending"),
		chromedp.Click(chromedp.Search(`//button[text()="Pause"]`)),
		chromedp.WaitVisible(chromedp.Search(`//button[text()="Resume"]`)),
	)
	if err != nil {
		t.Fatalf("watch and pause: %v", err)
	}
	if heading != "Sending…" {
		t.Errorf("mid-send: heading %q, want Sending…", heading)
	}
	if got, _ := h.st.Campaign(bg, c.ID); got.Status != store.CampaignPaused {
		t.Fatalf("after Pause: status %s", got.Status)
	}

	// Resume, then let the relay take the rest: the page follows to the end
	// by itself; a marker set on the page would be lost by a reload.
	var marker bool
	var remaining, sent string
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//button[text()="Resume"]`)),
		chromedp.WaitVisible(chromedp.Search(`//button[text()="Pause"]`)),
		into(&marker, chromedp.Evaluate[bool](`window.heraldMarker = true`)),
		func(context.Context, *chromedp.Target) (chromedp.Void, error) { release(); return chromedp.Void{}, nil },
		chromedp.Poll[chromedp.Void](`document.querySelector("#campaign-progress .card-title").textContent.trim() === "Sent"`,
			chromedp.WithPollingTimeout(30*time.Second)),
		into(&marker, chromedp.Evaluate[bool](`window.heraldMarker === true`)),
		into(&sent, chromedp.Evaluate[string](stat("sent"))),
		into(&remaining, chromedp.Evaluate[string](stat("remaining"))),
		screenshot("campaign-sent"),
	)
	if err != nil {
		t.Fatalf("resume and finish: %v", err)
	}
	if !marker || sent != "30" || remaining != "0" {
		t.Errorf("finished without reload: marker %v, sent %q, remaining %q; want true, 30, 0", marker, sent, remaining)
	}
	if n := sink.Count(); n != 30 {
		t.Errorf("relay received %d messages, want 30", n)
	}

	var rows int
	var answer string
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//a[text()="Recipients"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#recipients`)),
		// On a loaded machine the table can show before the browser has
		// read all of the page: count once it has.
		chromedp.Poll[chromedp.Void](`document.readyState === "complete"`, chromedp.WithPollingTimeout(10*time.Second)),
		into(&rows, chromedp.Evaluate[int](`document.querySelectorAll("#recipients tbody tr").length`)),
		into(&answer, chromedp.Text(chromedp.CSS(`#recipients tbody tr td:nth-child(4)`))),
		screenshot("campaign-recipients"),
	)
	if err != nil {
		t.Fatalf("recipients: %v", err)
	}
	if rows != 30 || !strings.Contains(answer, "250") {
		t.Errorf("recipients tab: %d rows, first answer %q; want 30 rows answered 250", rows, answer)
	}
}
