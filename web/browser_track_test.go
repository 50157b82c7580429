package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"herald/mailer/smtptest"
	"herald/store"
)

// TestBrowserClickShowsOnReport follows a sent message's link in Chromium,
// through Herald's click redirect to the shop, and then finds the click on
// the campaign's report.
func TestBrowserClickShowsOnReport(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<!doctype html><title>Shop</title><h1>The shop: %s</h1>", r.URL.Path)
	}))
	t.Cleanup(shop.Close)
	h, _, sink := sendingHarness(t, smtptest.Options{})
	id, msgs := sentTrackedTo(t, h, sink, 1, store.Tracking{Opens: true, Clicks: true}, shop.URL)
	if err := saveBaseURL(h, h.ts.URL); err != nil {
		t.Fatal(err)
	}
	h.createOwner()
	// A person reads it an hour later, not a scanner on arrival.
	h.setClock().Advance(time.Hour)
	click := msgs[0]["c"][0]

	var landed, report string
	err := chromedp.Do(ctx,
		// Headless Chromium names itself in its agent, as scanners do; a
		// person's browser does not.
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetUserAgentOverride,
				emulation.SetUserAgentOverrideParams{UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"})
			return err
		}),
		chromedp.Navigate(h.ts.URL+click),
		chromedp.WaitVisible(chromedp.CSS(`h1`)),
		into(&landed, chromedp.Text(chromedp.CSS(`h1`))),
		chromedp.Navigate(h.ts.URL+"/login"),
		chromedp.SendKeys(chromedp.CSS(`#email`), ownerEmail),
		chromedp.SendKeys(chromedp.CSS(`#password`), ownerPassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.sidenav`)),
		chromedp.Navigate(fmt.Sprintf("%s/campaigns/%d/report", h.ts.URL, id)),
		chromedp.WaitVisible(chromedp.Search(`//h2[normalize-space()="Top links"]`)),
		into(&report, chromedp.Text(chromedp.CSS(`main`))),
		screenshot("campaign-report"),
	)
	if err != nil {
		t.Fatalf("click and report: %v", err)
	}
	if landed != "The shop: /loaf" {
		t.Errorf("landed on %q, want the shop's /loaf page", landed)
	}
	if !strings.Contains(report, shop.URL+"/loaf?size=big") {
		t.Errorf("the report's top links lack the clicked link:\n%s", report)
	}
	var clicked string
	if err := chromedp.Do(ctx, into(&clicked, chromedp.Text(chromedp.Search(`//div[@class="stat"][span[@class="stat-label"]="Clicked"]/span[@class="stat-value"]`)))); err != nil {
		t.Fatalf("the report's Clicked figure: %v", err)
	}
	if clicked != "1" {
		t.Errorf("Clicked: got %q, want 1", clicked)
	}
	counts, _ := h.st.CampaignCounts(context.Background(), id)
	if counts.UniqueHumanClicks != 1 {
		t.Errorf("counts: got %+v, want one person's click", counts)
	}
}

// saveBaseURL points the links Herald makes at base.
func saveBaseURL(h *harness, base string) error {
	g, err := h.st.General(context.Background())
	if err != nil {
		return err
	}
	g.BaseURL = base
	if _, err := h.st.SaveGeneral(context.Background(), g); err != nil {
		return err
	}
	h.srv.generalCache.Store(nil)
	return nil
}
