package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"herald/store"
)

func TestWebViewShowsTheMessageFromASignedLink(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	c, _, err := h.st.CreateContact(ctx, store.ContactInput{Email: ptrTo("viewer@example.com"), FirstName: ptrTo("Vera")}, false)
	if err != nil {
		t.Fatal(err)
	}
	src := "# Hello {{.Contact.FirstName}}\n\n[Open in browser]({{web_view_url}})\n"
	tmpl, err := h.st.CreateTemplate(ctx, store.TemplateInput{Name: ptrTo("Letter"), Kind: ptrTo(store.KindCampaign), Format: ptrTo("markdown"),
		Subject: ptrTo("Hi"), Body: &src}, h.srv.checkTemplate(ctx))
	if err != nil {
		t.Fatal(err)
	}
	link := h.srv.out.Links(ctx).WebView(c.ID, tmpl.ID)
	resp := h.request(h.newClient(), http.MethodGet, link, nil, nil)
	page := body(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Hello Vera") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("web view: got %d %q", resp.StatusCode, page)
	}
	if !strings.Contains(page, "/view/") {
		t.Error("the message's own web view link is missing from the page")
	}
	if resp := h.get("/view/forged.token"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("forged link: got %d, want 404", resp.StatusCode)
	}
	if err := h.st.EraseContact(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if resp := h.get(link); resp.StatusCode != http.StatusNotFound {
		t.Errorf("link of an erased contact: got %d, want 404", resp.StatusCode)
	}
}
