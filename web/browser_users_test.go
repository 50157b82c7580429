package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserAddAUserWhoSignsIn: the owner adds an admin in Settings →
// Users, signs out, and the new admin signs in with the password the owner
// gave them and finds themselves in the list, with no way to remove
// themselves.
func TestBrowserAddAUserWhoSignsIn(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	h := newHarness(t)
	h.createOwner()
	base := h.ts.URL
	var rows, mine string
	var removeButtons int
	err := chromedp.Do(ctx,
		signInAs(base, ownerEmail, ownerPassword),
		chromedp.Navigate(base+"/settings"),
		chromedp.Click(chromedp.Search(`//nav[@aria-label="Settings"]//a[text()="Users"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#user_email`)),
		chromedp.SendKeys(chromedp.CSS(`#user_email`), "sam@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#user_name`), "Sam Lee"),
		chromedp.SendKeys(chromedp.CSS(`#user_password`), "Sams own password"),
		chromedp.Click(chromedp.Search(`//button[text()="Add user"]`)),
		chromedp.WaitVisible(chromedp.Search(`//td[text()="sam@example.com"]`)),
		into(&rows, chromedp.Text(chromedp.CSS(`#users tbody`))),
		chromedp.Click(chromedp.CSS(`form.logout button`)),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), "sam@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "Sams own password"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.sidenav`)),
		chromedp.Navigate(base+"/settings/users"),
		chromedp.WaitVisible(chromedp.CSS(`#users`)),
		into(&mine, chromedp.Text(chromedp.Search(`//tr[td[text()="sam@example.com"]]`))),
		into(&removeButtons, chromedp.Evaluate[int](`document.querySelectorAll("#users button.btn-danger").length`)),
		screenshot("users"),
	)
	if err != nil {
		t.Fatalf("browser flow: %v", err)
	}
	if !strings.Contains(rows, "Sam Lee") || !strings.Contains(rows, ownerEmail) {
		t.Fatalf("users after adding: got %q", rows)
	}
	if !strings.Contains(mine, "You") || removeButtons != 1 {
		t.Errorf("Sam's own row: got %q and %d remove buttons, want Sam marked as you and only the owner removable", mine, removeButtons)
	}
}
