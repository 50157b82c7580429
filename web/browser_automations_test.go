package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"herald/mailer/smtptest"
	"herald/store"
)

// TestBrowserWelcomeFlow builds a welcome flow as an owner would: a new
// automation started by a list, an email step and a tag step added from
// the side panel, activated; then someone subscribes through the list's
// public form, and the welcome email reaches a loopback SMTP server. The
// flow then shows the contact passing its steps.
func TestBrowserWelcomeFlow(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	sink := smtptest.Start(t, smtptest.Options{})
	h := newHarness(t)
	runWorker(t, h.srv.out.Dispatcher())
	runWorker(t, h.srv.automations)
	bg := context.Background()
	if _, err := h.st.SaveGeneral(bg, store.General{OrgName: "Acme Bakery", PostalAddress: "1 Mill Lane", FromName: "Acme", FromEmail: "news@acme.test",
		Timezone: "UTC", BaseURL: h.ts.URL}); err != nil {
		t.Fatal(err)
	}
	h.srv.generalCache.Store(nil)
	if _, err := h.st.CreateRelay(bg, store.RelayInput{Name: "Sink", Kind: "smtp", Host: sink.Host(), Port: sink.Port(), TLS: "none",
		MaxConnections: 1, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	l, err := h.st.CreateList(bg, store.ListInput{Name: ptrTo("Bread news"), OptIn: ptrTo("single"), Visibility: ptrTo("public")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.CreateTemplate(bg, store.TemplateInput{Name: ptrTo("Welcome note"), Kind: ptrTo(store.KindCampaign), Format: ptrTo("markdown"),
		Subject: ptrTo("Welcome to the bakery, {{.Contact.FirstName}}"), Body: ptrTo("Fresh bread every morning.")}, nil); err != nil {
		t.Fatal(err)
	}
	h.createOwner()
	base := h.ts.URL
	var status, flow string
	err = doLogged(t, ctx,
		signInAs(base, ownerEmail, ownerPassword),
		chromedp.Navigate(base+"/automations"),
		chromedp.Click(chromedp.Search(`//main//a[text()="New automation"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "Welcome series"),
		chromedp.SetValue(chromedp.CSS(`#trigger_kind`), "list"),
		chromedp.SetValue(chromedp.CSS(`#list_id`), itoa(l.ID)),
		chromedp.Click(chromedp.Search(`//button[text()="Create and build the flow"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#flow`)),
		// The first step: the welcome email, from the side panel.
		chromedp.Click(chromedp.Search(`(//div[@class="flow-add"]/a)[1]`)),
		chromedp.WaitVisible(chromedp.Search(`//ul[@class="kind-list"]//a[text()="Send an email"]`)),
		chromedp.Click(chromedp.Search(`//ul[@class="kind-list"]//a[text()="Send an email"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#template_id`)),
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector("#template_id"); s.value = s.options[1].value; })()`),
		chromedp.Click(chromedp.Search(`//button[text()="Add the step"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#step-1`)),
		// Then a tag after it.
		chromedp.Click(chromedp.Search(`//div[@id="step-1"]/following-sibling::div[@class="flow-add"][1]/a`)),
		chromedp.WaitVisible(chromedp.Search(`//ul[@class="kind-list"]//a[text()="Add a tag"]`)),
		chromedp.Click(chromedp.Search(`//ul[@class="kind-list"]//a[text()="Add a tag"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#tag`)),
		chromedp.SendKeys(chromedp.CSS(`#tag`), "welcomed"),
		chromedp.Click(chromedp.Search(`//button[text()="Add the step"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#step-2`)),
		screenshot("automation-flow"),
		chromedp.Click(chromedp.Search(`//button[text()="Activate"]`)),
		chromedp.WaitVisible(chromedp.Search(`//span[@id="automation-status"][text()="active"]`)),
		into(&status, chromedp.Text(chromedp.CSS(`#automation-status`))),
		// Someone signs up through the public form.
		chromedp.Navigate(base+"/subscribe/"+itoa(l.ID)),
		chromedp.WaitVisible(chromedp.CSS(`#f-email`)),
		chromedp.SendKeys(chromedp.CSS(`#f-email`), "crumb@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#f-first_name`), "Cris"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`main h1`)),
	)
	if err != nil {
		t.Fatalf("browser flow: %v", err)
	}
	msgs := sink.Wait(1, 20*time.Second)
	if len(msgs) != 1 || msgs[0].To[0] != "crumb@example.com" || !strings.Contains(string(msgs[0].Data), "Subject: Welcome to the bakery, Cris") {
		t.Fatalf("got %d messages %v, want the welcome to crumb@example.com", len(msgs), msgs)
	}
	err = doLogged(t, ctx,
		chromedp.Navigate(base+"/automations/1"),
		pollThroughReloads(`document.querySelector("#step-2 .flow-counts").textContent.includes("1 passed") || (location.reload(), false)`, 20*time.Second),
		into(&flow, chromedp.Text(chromedp.CSS(`#flow`))),
		screenshot("automation-after"),
	)
	if err != nil {
		t.Fatalf("reading the flow: %v", err)
	}
	if status != "active" || !strings.Contains(flow, "1 sent") || !strings.Contains(flow, "Welcome note") {
		t.Errorf("got status %q and flow %q, want active with the email sent once", status, flow)
	}
	c, err := h.st.ContactByEmail(bg, "crumb@example.com")
	if err != nil || !strings.Contains(strings.Join(c.Tags, ","), "welcomed") {
		t.Errorf("got contact %+v (%v), want tagged welcomed", c, err)
	}
}
