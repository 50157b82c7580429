package web

import (
	"context"
	"encoding/xml"
	"net/http"
	"strings"
	"testing"
	"time"

	"herald/store"
)

func TestPublicArchiveAndFeed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	l := publicList(t, h, "single")
	private, _ := h.st.CreateList(ctx, store.ListInput{Name: ptrTo("Internal")})
	old, _ := h.st.AddArchiveEntry(ctx, store.ArchiveEntry{ListID: l.ID, Title: "March news", HTML: "<h1>March</h1>", Text: "March", PublishedAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)})
	h.st.AddArchiveEntry(ctx, store.ArchiveEntry{ListID: l.ID, Title: "April news", HTML: "<h1>April</h1><script>x()</script>", Text: "April", PublishedAt: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)})
	h.st.AddArchiveEntry(ctx, store.ArchiveEntry{ListID: private.ID, Title: "Staff only", HTML: "x", Text: "x"})

	page := body(t, h.get("/archive/"+itoa(l.ID)))
	if i, j := strings.Index(page, "April news"), strings.Index(page, "March news"); i < 0 || j < 0 || i > j {
		t.Fatalf("archive page: want April before March:\n%s", page)
	}
	resp := h.get("/archive/" + itoa(l.ID) + "/" + itoa(old.ID))
	if got := body(t, resp); got != "<h1>March</h1>" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("archived message: got %q with CSP %q", got, resp.Header.Get("Content-Security-Policy"))
	}
	resp = h.get("/archive/" + itoa(l.ID) + "/feed.atom")
	var feed struct {
		Title   string `xml:"title"`
		Entries []struct {
			Title   string `xml:"title"`
			Updated string `xml:"updated"`
			Content string `xml:"content"`
		} `xml:"entry"`
	}
	if err := xml.NewDecoder(resp.Body).Decode(&feed); err != nil || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/atom+xml") {
		t.Fatalf("feed: %v, %s", err, resp.Header.Get("Content-Type"))
	}
	if feed.Title != l.Name || len(feed.Entries) != 2 || feed.Entries[0].Title != "April news" || feed.Entries[1].Updated != "2026-03-01T09:00:00Z" || feed.Entries[1].Content != "<h1>March</h1>" {
		t.Fatalf("feed: got %+v", feed)
	}
	for _, path := range []string{"/archive/" + itoa(private.ID), "/archive/" + itoa(private.ID) + "/feed.atom", "/archive/" + itoa(l.ID) + "/999"} {
		if resp := h.get(path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: got %d, want 404", path, resp.StatusCode)
		}
	}
}
