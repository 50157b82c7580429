package web

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"herald/store"
)

// seedPagedLists makes n campaigns (every third one cancelled), n import
// jobs and n images, named by their number from 1, oldest first.
func seedPagedLists(t *testing.T, h *harness, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 1; i <= n; i++ {
		x, err := h.st.CreateCampaign(ctx, store.CampaignInput{Name: ptrTo(fmt.Sprintf("Campaign %d", i))})
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if _, err := h.st.ScheduleCampaign(ctx, x.ID, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if _, err := h.st.ChangeCampaign(ctx, x.ID, store.ActionCancel); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := h.st.CreateImport(ctx, store.ImportJob{FileName: fmt.Sprintf("import-%d.csv", i), Headers: []string{"email"}, Delimiter: ","}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := h.st.CreateMedia(ctx, store.Media{FileName: fmt.Sprintf("image-%d.png", i), ContentType: "image/png", Width: 1, Height: 1, SHA256: fmt.Sprintf("%064d", i)}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAPIListsArePaged(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeRead)
	seedPagedLists(t, h, 7)
	for _, tc := range []struct {
		path      string
		field     string
		want      []any
		wantTotal float64
	}{
		{"/api/v1/campaigns?per_page=3&page=2", "name", []any{"Campaign 4", "Campaign 3", "Campaign 2"}, 7},
		{"/api/v1/campaigns?per_page=3&page=3", "name", []any{"Campaign 1"}, 7},
		{"/api/v1/campaigns?per_page=3&page=4", "name", []any{}, 7},
		{"/api/v1/campaigns?status=cancelled&per_page=1&page=2", "name", []any{"Campaign 3"}, 2},
		{"/api/v1/campaigns?status=draft&per_page=3&page=2", "name", []any{"Campaign 2", "Campaign 1"}, 5},
		{"/api/v1/imports?per_page=3&page=2", "file_name", []any{"import-4.csv", "import-3.csv", "import-2.csv"}, 7},
		{"/api/v1/media?per_page=3&page=2", "file_name", []any{"image-4.png", "image-3.png", "image-2.png"}, 7},
		{"/api/v1/media?per_page=5", "file_name", []any{"image-7.png", "image-6.png", "image-5.png", "image-4.png", "image-3.png"}, 7},
	} {
		t.Run(tc.path, func(t *testing.T) {
			code, out := h.api(key, http.MethodGet, tc.path, nil)
			items, _ := out["data"].([]any)
			got := []any{}
			for _, it := range items {
				got = append(got, it.(map[string]any)[tc.field])
			}
			m, _ := out["meta"].(map[string]any)
			if code != http.StatusOK || !reflect.DeepEqual(got, tc.want) || m["total"] != tc.wantTotal {
				t.Errorf("got %d %v meta %v, want %v of %v", code, got, m, tc.want, tc.wantTotal)
			}
		})
	}
}

func TestListPagesArePaged(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	const n = 61 // more than a page of each
	seedPagedLists(t, h, n)
	for _, tc := range []struct {
		path    string
		perPage int
		name    func(i int) string
		pager   string
	}{
		{"/campaigns", campaignsPerPage, func(i int) string { return fmt.Sprintf("Campaign %d<", i) }, "61 campaigns"},
		{"/contacts/import", importsPerPage, func(i int) string { return fmt.Sprintf("import-%d.csv<", i) }, "61 imports"},
		{"/templates/media", mediaPerPage, func(i int) string { return fmt.Sprintf("image-%d.png", i) }, "61 images"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			first, second := body(t, h.get(tc.path)), body(t, h.get(tc.path+"?page=2"))
			// Page 1 holds the newest perPage; page 2 the rest.
			for i := 1; i <= n; i++ {
				onFirst := i > n-tc.perPage
				if strings.Contains(first, tc.name(i)) != onFirst || strings.Contains(second, tc.name(i)) == onFirst {
					t.Errorf("item %d: on page 1 %v, on page 2 %v; want it on page %d", i,
						strings.Contains(first, tc.name(i)), strings.Contains(second, tc.name(i)), map[bool]int{true: 1, false: 2}[onFirst])
				}
			}
			if want := "Page 1 of 2, " + tc.pager; !strings.Contains(first, want) || !strings.Contains(first, tc.path+"?page=2") {
				t.Errorf("page 1: no pager saying %q with a link to page 2", want)
			}
			if want := "Page 2 of 2, " + tc.pager; !strings.Contains(second, want) || !strings.Contains(second, tc.path+"?page=1") {
				t.Errorf("page 2: no pager saying %q with a link to page 1", want)
			}
		})
	}
	page := body(t, h.get("/campaigns?status=cancelled"))
	if !strings.Contains(page, "Campaign 60<") || strings.Contains(page, "Campaign 61<") || strings.Contains(page, "Page 1 of") {
		t.Error("cancelled campaigns: want only them, on one page without a pager")
	}
}

// TestPageNumbersAreBounded asks every paged list, in the API and the
// admin, for a page past the last, which is empty with the right meta, and
// for pages so large that (page-1) × per_page would wrap round to rows,
// which are refused with a 422 naming page.
func TestPageNumbersAreBounded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	seedPagedLists(t, h, 2)
	ctx := context.Background()
	if _, _, err := h.st.CreateContact(ctx, store.ContactInput{Email: ptrTo("ann@example.com")}, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.st.AddSuppression(ctx, store.SuppressionInput{Value: "bob@example.com", Source: "manual"}); err != nil {
		t.Fatal(err)
	}
	huge := []string{"368934881474191034", "99999999999999999999", fmt.Sprint(maxPage + 1)}
	for _, path := range []string{"/api/v1/contacts", "/api/v1/campaigns", "/api/v1/campaigns/1/recipients", "/api/v1/imports",
		"/api/v1/media", "/api/v1/messages", "/api/v1/relays", "/api/v1/dkim-keys", "/api/v1/lists", "/api/v1/segments",
		"/api/v1/suppressions", "/api/v1/templates"} {
		t.Run(path, func(t *testing.T) {
			for _, p := range huge {
				code, out := h.api(key, http.MethodGet, path+"?page="+p, nil)
				if _, f := audError(out); code != http.StatusUnprocessableEntity || f["page"] == nil {
					t.Errorf("page %s: got %d %.200v, want 422 naming page", p, code, out)
				}
			}
			code, out := h.api(key, http.MethodGet, fmt.Sprintf("%s?page=%d&per_page=500", path, maxPage), nil)
			m, _ := out["meta"].(map[string]any)
			_, counted := m["total"].(float64)
			if items, ok := out["data"].([]any); code != http.StatusOK || !ok || len(items) != 0 || !counted || m["page"] != float64(maxPage) || m["per_page"] != 500.0 {
				t.Errorf("last allowed page: got %d %.200v, want an empty page with its meta", code, out)
			}
		})
	}
	h.signIn()
	for _, path := range []string{"/contacts", "/contacts/suppressions", "/contacts/import", "/campaigns", "/campaigns/1/recipients",
		"/templates/media", "/messages"} {
		t.Run(path, func(t *testing.T) {
			for _, p := range huge {
				resp := h.get(path + "?page=" + p)
				if page := body(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Ask for a page from 1 to") {
					t.Errorf("page %s: got %d, want 422 saying which pages there are", p, resp.StatusCode)
				}
			}
			if resp := h.get(fmt.Sprintf("%s?page=%d", path, maxPage)); resp.StatusCode != http.StatusOK {
				t.Errorf("last allowed page: got %d, want 200", resp.StatusCode)
			}
		})
	}
}
