package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"herald/store"
)

// TestBrowserSourceWizard goes through the source wizard as an owner
// would: saving before testing is refused with what to do; the test shows
// the shop's first records and proposes targets; the owner maps a nested
// field to an attribute, picks a list and saves; the first run brings the
// customers in and shows on the source's page, whose credentials stay
// masked until shown, and whose showing and copying the audit trail
// writes down.
func TestBrowserSourceWizard(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	h, shop := sourceHarness(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer shop-token" {
			http.Error(w, `{"error": "unauthorised"}`, http.StatusUnauthorized)
			return
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		var out []map[string]any
		for i := (page-1)*2 + 1; i <= min(page*2, 5); i++ {
			out = append(out, map[string]any{"id": i, "email": fmt.Sprintf("buyer%d@example.com", i), "first_name": fmt.Sprintf("Buyer %d", i),
				"address": map[string]any{"city": "Lyon"}})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"data": out})
	})
	h.createOwner()
	name := "Customers"
	list, err := h.st.CreateList(context.Background(), store.ListInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	base := h.ts.URL
	var refused, records, emailTarget, status, masked, revealed, audit, settings string
	err = doLogged(t, ctx,
		signInAs(base, ownerEmail, ownerPassword),
		chromedp.Navigate(base+"/contacts"),
		chromedp.Click(chromedp.Search(`//nav//a[text()="Sources"]`)),
		chromedp.Click(chromedp.Search(`//a[text()="Add a source"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#url`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "Shop customers"),
		chromedp.SendKeys(chromedp.CSS(`#url`), shop.URL+"/customers"),
		chromedp.SetValue(chromedp.CSS(`#auth_kind`), "bearer"),
		chromedp.SendKeys(chromedp.CSS(`#secret`), "shop-token"),
		// Saved before the test: nothing to map yet.
		chromedp.Click(chromedp.Search(`//button[text()="Save source"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#source-errors .flash-error`)),
		into(&refused, chromedp.Text(chromedp.CSS(`#source-errors`))),
		chromedp.Click(chromedp.Search(`//summary[text()="Records, paging and incremental sync"]`)),
		chromedp.SetValue(chromedp.CSS(`#paging`), "page"),
		chromedp.SendKeys(chromedp.CSS(`#page_size`), "2"),
		chromedp.Click(chromedp.Search(`//button[text()="Test connection"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#source-fields`)),
		into(&records, chromedp.Text(chromedp.CSS(`#source-records`))),
		into(&emailTarget, chromedp.Evaluate[string](`document.querySelector("#source-fields tr:has(input[value='email']) select").value`)),
		chromedp.SetValue(chromedp.CSS(`#source-fields tr:has(input[value='address.city']) select`), "attribute"),
		chromedp.SetValue(chromedp.CSS(`#source-fields tr:has(input[value='address.city']) input[type=text]`), "city"),
		chromedp.SetValue(chromedp.CSS(`#source-fields tr:has(input[value='id']) select`), "ignore"),
		chromedp.Click(chromedp.CSS(`input[name=list_ids][value="`+strconv.FormatInt(list.ID, 10)+`"]`)),
		chromedp.SendKeys(chromedp.CSS(`#tags`), "shop"),
		screenshot("source-wizard"),
		chromedp.Click(chromedp.Search(`//button[text()="Save source"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#source-status`)),
		// The first run starts at once; the page reloads itself when it ends.
		pollThroughReloads(`!!document.querySelector("#source-runs .badge-ok")`, 30*time.Second),
		into(&status, chromedp.Text(chromedp.CSS(`#source-runs tbody tr`))),
		chromedp.WaitVisible(chromedp.CSS(`#source-secret`)),
		into(&masked, chromedp.Text(chromedp.CSS(`#source-secret`))),
		chromedp.Click(chromedp.Search(`//div[@id="source-secret"]//button[text()="Show"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#source-secret-value`)),
		// htmx readies what it swapped in once it has settled.
		chromedp.Poll[chromedp.Void](`!document.querySelector(".htmx-settling, .htmx-added, .htmx-swapping")`, chromedp.WithPollingTimeout(5*time.Second)),
		into(&revealed, chromedp.Text(chromedp.CSS(`#source-secret-value`))),
		chromedp.Click(chromedp.Search(`//div[@id="source-secret"]//button[text()="Copy"]`)),
		// The copy is written down by a request of its own: wait for it.
		func(ctx context.Context, _ *chromedp.Target) (chromedp.Void, error) {
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if a, err := h.st.SourceAudit(ctx, 1, 10); err == nil && len(a) > 0 && a[0].Action == "copied" {
					return chromedp.Void{}, nil
				}
			}
			return chromedp.Void{}, errors.New("the copy was not written in the audit trail")
		},
		chromedp.Click(chromedp.Search(`//div[@id="source-secret"]//button[text()="Hide"]`)),
		chromedp.Poll[chromedp.Void](`!document.querySelector("#source-secret-value")`, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`#source-audit`)),
		into(&audit, chromedp.Text(chromedp.CSS(`#source-audit tbody`))),
		into(&settings, chromedp.Evaluate[string](`document.querySelector("main .meta").textContent`)),
		screenshot("source-page"),
	)
	if err != nil {
		t.Fatalf("browser flow: %v", err)
	}
	if !strings.Contains(refused, "Test the connection") {
		t.Errorf("saving before testing: got %q, want to be told to test the connection", refused)
	}
	if !strings.Contains(records, "buyer1@example.com") || !strings.Contains(records, "Lyon") || strings.Contains(records, "buyer3@example.com") {
		t.Errorf("first records: got %q, want the first page's two", records)
	}
	if emailTarget != "email" {
		t.Errorf("email field proposed as %q, want email", emailTarget)
	}
	if !strings.Contains(status, "done") || !strings.Contains(status, "5") {
		t.Errorf("first run's row: got %q, want done with 5 new", status)
	}
	if strings.Contains(masked, "shop-token") || !strings.Contains(masked, "••••") || revealed != "shop-token" {
		t.Errorf("credentials: masked %q, revealed %q", masked, revealed)
	}
	if !strings.Contains(audit, "revealed") || !strings.Contains(audit, "copied") || !strings.Contains(audit, ownerEmail) || !strings.Contains(audit, "created") {
		t.Errorf("audit trail: got %q, want the creation, the reveal and the copy, by the owner", audit)
	}
	if !strings.Contains(settings, "address.city → attribute:city") || strings.Contains(settings, "id →") {
		t.Errorf("settings shown: %q", settings)
	}
	c, err := h.st.ContactByEmail(context.Background(), "buyer5@example.com")
	if err != nil || c.FirstName != "Buyer 5" || c.Attributes["city"] != "Lyon" || len(c.Tags) != 1 || c.Tags[0] != "shop" {
		t.Errorf("contact from the source: %+v, %v", c, err)
	}
	if l, _ := h.st.List(context.Background(), list.ID); l.Confirmed != 5 {
		t.Errorf("list members: %d, want 5", l.Confirmed)
	}
}

// doLogged runs acts in turn; when one fails it logs which, with the page
// as it was, for a failure seen only on a loaded machine.
func doLogged(t *testing.T, ctx context.Context, acts ...chromedp.Action[chromedp.Void]) error {
	for i, a := range acts {
		if err := chromedp.Do(ctx, a); err != nil {
			var html string
			chromedp.Do(ctx, into(&html, chromedp.Evaluate[string](`location.href + document.querySelector("main").outerHTML`)))
			t.Logf("step %d: %v\n%s", i, err, html)
			return err
		}
	}
	return nil
}

// pollThroughReloads waits until expr is true in the page, which may
// reload itself meanwhile (a page that follows a run does when it ends).
func pollThroughReloads(expr string, timeout time.Duration) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if ok, err := chromedp.Evaluate[bool](expr)(ctx, tg); err == nil && ok {
				return chromedp.Void{}, nil
			}
		}
		return chromedp.Void{}, fmt.Errorf("timed out waiting for %s", expr)
	}
}
