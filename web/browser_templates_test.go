package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserTemplateEditorLivePreview types into the template editor and
// watches the preview follow: the rendered heading, then the error with its
// line and column when the template names a field that does not exist.
func TestBrowserTemplateEditorLivePreview(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	h := newHarness(t)
	h.createOwner()
	base := h.ts.URL
	var first chromedp.AttributeResult
	err := chromedp.Do(ctx,
		signInAs(base, ownerEmail, ownerPassword),

		chromedp.Navigate(base+"/templates"),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "Spring news"),
		chromedp.Click(chromedp.Search(`//button[text()="Create and edit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#body`)),
		into(&first, chromedp.AttributeValue(chromedp.CSS(`.preview-frame`), "src")),

		clearBody(),
		chromedp.SendKeys(chromedp.CSS(`#body`), "# Spring for {{.Contact.FirstName}}"),
	)
	if err != nil {
		t.Fatalf("browser flow: %v", err)
	}
	if !first.Exists || !strings.HasPrefix(first.Value, "/templates/preview/") {
		t.Fatalf("preview frame src: got %+v, want /templates/preview/<key>", first)
	}

	// The frame is sandboxed without same-origin, so its document cannot be
	// read from the page; fetch what it shows with a session of our own.
	resp := h.postForm("/login", url.Values{"email": {ownerEmail}, "password": {ownerPassword}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("harness sign-in: got %d, want 303", resp.StatusCode)
	}
	seen, rendered := first.Value, ""
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(rendered, ">Spring for Jane</h1>") {
		if time.Now().After(deadline) {
			t.Fatalf("preview never showed the heading; last frame %s showed %.500q", seen, rendered)
		}
		// Typing may swap in more than one preview; wait for the next.
		var src chromedp.AttributeResult
		err := chromedp.Do(ctx,
			chromedp.Poll[chromedp.Void](`(() => { const f = document.querySelector(".preview-frame"); return !!f && f.getAttribute("src") !== `+strconv.Quote(seen)+` })()`,
				chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline))),
			into(&src, chromedp.AttributeValue(chromedp.CSS(`.preview-frame`), "src")),
		)
		if err != nil {
			t.Fatalf("waiting for a new preview after %s: %v", seen, err)
		}
		seen = src.Value
		resp := h.get(seen)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: got %d, want 200", seen, resp.StatusCode)
		}
		rendered = body(t, resp)
	}

	// The frame lays the email out at a desktop client's width, scaled to
	// fit the card, and at a phone's width when asked.
	const widths = `(() => { const f = document.querySelector(".preview-frame"); const r = f.getBoundingClientRect();
		return f.offsetWidth + " " + (r.width <= f.parentElement.clientWidth + 1) })()`
	var desktop, phone string
	err = chromedp.Do(ctx,
		into(&desktop, chromedp.Evaluate[string](widths)),
		chromedp.Click(chromedp.CSS(`#preview-mobile`)),
		into(&phone, chromedp.Evaluate[string](widths)),
		chromedp.Click(chromedp.CSS(`#preview-mobile`)),
	)
	if err != nil {
		t.Fatalf("reading the preview widths: %v", err)
	}
	if desktop != "640 true" || phone != "375 true" {
		t.Errorf("preview widths: got desktop %q, phone %q; want 640 and 375, each fitting its card", desktop, phone)
	}

	var errText string
	err = chromedp.Do(ctx,
		screenshot("template-editor-preview"),
		clearBody(),
		chromedp.SendKeys(chromedp.CSS(`#body`), "Hi {{.Contact.Nickname}}"),
		chromedp.Poll[chromedp.Void](`(document.querySelector("#template-preview .flash-error") || {textContent: ""}).textContent.includes("unknown field")`,
			chromedp.WithPollingInterval(100*time.Millisecond)),
		into(&errText, chromedp.Text(chromedp.CSS(`#template-preview .flash-error`))),
		screenshot("template-editor-error"),
	)
	if err != nil {
		t.Fatalf("waiting for the error in the preview: %v", err)
	}
	if !strings.Contains(errText, "Body: Line 1, column 6: unknown field .Contact.Nickname") {
		t.Errorf("preview error: got %q, want the line, column and unknown field", errText)
	}
}

// clearBody empties the body textarea without an input event, so only the
// typing after it asks for a preview.
func clearBody() chromedp.Action[chromedp.Void] {
	var ok bool
	return into(&ok, chromedp.Evaluate[bool](`(document.querySelector("#body").value = "") === ""`))
}
