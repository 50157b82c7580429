package web

import (
	"bytes"
	"context"
	"io"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"herald/mailer/smtptest"
	"herald/store"
)

var confirmLink = regexp.MustCompile(`https?://\S+/subscribe/confirm/\S+`)

// TestBrowserDoubleOptIn subscribes through a public form in a real browser,
// which first solves the form's proof-of-work puzzle, receives the
// confirmation email on a loopback SMTP server, follows its link and confirms.
func TestBrowserDoubleOptIn(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	sink := smtptest.Start(t, smtptest.Options{})
	h := newHarness(t)
	startLane(t, h)
	bg := context.Background()
	if _, err := h.st.SaveGeneral(bg, store.General{OrgName: "Acme Bakery", FromName: "Acme", FromEmail: "news@acme.test", Timezone: "UTC", BaseURL: h.ts.URL}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.CreateRelay(bg, store.RelayInput{Name: "Sink", Kind: "smtp", Host: sink.Host(), Port: sink.Port(), TLS: "none",
		MaxConnections: 1, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	l, err := h.st.CreateList(bg, store.ListInput{Name: ptrTo("Bread news"), OptIn: ptrTo("double"), Visibility: ptrTo("public"),
		FormFields: &[]store.FormField{{Key: "favourite_loaf", Label: "Favourite loaf"}}, Challenge: ptrTo(true)})
	if err != nil {
		t.Fatal(err)
	}

	var thanks string
	err = chromedp.Do(ctx,
		chromedp.Navigate(h.ts.URL+"/subscribe/"+itoa(l.ID)),
		chromedp.WaitVisible(chromedp.CSS(`#f-email`)),
		chromedp.SendKeys(chromedp.CSS(`#f-email`), "crumb@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#f-first_name`), "Cris"),
		chromedp.SendKeys(chromedp.CSS(`#f-attr_favourite_loaf`), "sourdough"),
		screenshot("p1-form"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="Check your inbox"]`)),
		into(&thanks, chromedp.Text(chromedp.CSS(`main`))),
	)
	if err != nil {
		t.Fatalf("subscribing: %v", err)
	}
	c, err := h.st.ContactByEmail(bg, "crumb@example.com")
	if err != nil || len(c.Memberships) != 1 || c.Memberships[0].Status != store.MemberUnconfirmed || c.Attributes["favourite_loaf"] != "sourdough" {
		t.Fatalf("after the form: got %+v, %v, want an unconfirmed member with the custom field", c, err)
	}

	msgs := sink.Wait(1, 10*time.Second)
	if len(msgs) != 1 || msgs[0].To[0] != "crumb@example.com" {
		t.Fatalf("SMTP server received %+v, want one confirmation email", msgs)
	}
	m, err := mail.ReadMessage(bytes.NewReader(msgs[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(quotedprintable.NewReader(m.Body))
	link := confirmLink.FindString(string(text))
	if link == "" || !strings.Contains(string(text), "Hello Cris") || !strings.Contains(m.Header.Get("Subject"), "Bread news") {
		t.Fatalf("confirmation email:\n%s", text)
	}

	var done string
	err = chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.Search(`//button[text()="Yes, subscribe me"]`)),
		screenshot("p2-confirm"),
		chromedp.Click(chromedp.Search(`//button[text()="Yes, subscribe me"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="You're confirmed"]`)),
		into(&done, chromedp.Text(chromedp.CSS(`main`))),
		screenshot("p3-confirmed"),
	)
	if err != nil {
		t.Fatalf("confirming: %v", err)
	}
	if !strings.Contains(done, "Bread news") {
		t.Errorf("confirmed page: got %q", done)
	}
	c, _ = h.st.ContactByEmail(bg, "crumb@example.com")
	if c.Memberships[0].Status != store.MemberConfirmed {
		t.Fatalf("membership after confirming: got %s, want confirmed", c.Memberships[0].Status)
	}
	if c.Consent.IP != "127.0.0.1" || c.Consent.At.IsZero() || !strings.Contains(c.Consent.Form, "Bread news") {
		t.Fatalf("consent: got %+v, want the confirming address, time and list recorded", c.Consent)
	}
}

func ptrTo[T any](v T) *T { return &v }
