package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"herald/store"
)

// TestEveryListSortsAndOrders walks every documented list: each sort field
// and order answers 200 (its answer held to the description, as every API
// answer in these tests is), and what a list does not take is a 400 that
// names the parameter.
func TestEveryListSortsAndOrders(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	audSeedContact(t, h, "ann@example.com", nil, nil)
	if _, _, err := h.st.CreateWebhook(t.Context(), store.WebhookInput{URL: ptrTo("https://hooks.example.com/in"), Events: &[]string{store.EventContactCreated}}, nil); err != nil {
		t.Fatal(err)
	}
	lists := 0
	for name, op := range apiOps {
		if op.Spec == nil {
			continue
		}
		lists++
		method, path, _ := strings.Cut(name, " ")
		path = concretePath(path)
		if strings.Contains(path, "/campaigns/1/") {
			continue // needs a sent campaign: TestAPICampaignLifecycle and TestCampaignReportPages walk these
		}
		for _, sort := range append([]string{"id"}, op.Spec.Sorts...) {
			for _, order := range []string{"asc", "desc"} {
				if code, out := h.api(key, method, path+"?sort="+sort+"&order="+order, nil); code != http.StatusOK {
					t.Errorf("%s?sort=%s&order=%s: got %d %v", path, sort, order, code, out)
				}
			}
		}
		bad := []string{"sort=nonsense", "order=up"}
		if !op.Spec.Created {
			bad = append(bad, "created_from=2026-01-01")
		} else {
			bad = append(bad, "created_from=yesterday")
		}
		if op.Spec.Search == "" {
			bad = append(bad, "q=x")
		}
		if !op.Spec.Cursor {
			bad = append(bad, "after=0")
		} else {
			bad = append(bad, "after=-1", "after=0&page=2")
			if len(op.Spec.Sorts) > 0 {
				bad = append(bad, "after=0&sort="+op.Spec.Sorts[0])
			}
		}
		for _, b := range bad {
			param, _, _ := strings.Cut(strings.Split(b, "&")[0], "=")
			code, out := h.api(key, method, path+"?"+b, nil)
			if _, f := audError(out); code != http.StatusBadRequest || f[param] == nil {
				t.Errorf("%s?%s: got %d %v, want 400 naming %s", path, b, code, out, param)
			}
		}
	}
	if lists < 14 {
		t.Errorf("lists with a spec: got %d, want every list", lists)
	}
}

// cursorWalk reads a list by cursor to its end and returns the ids in the
// order they came.
func cursorWalk(t *testing.T, h *harness, key, path string) []int64 {
	t.Helper()
	var ids []int64
	after := "0"
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	for pages := 0; after != ""; pages++ {
		if pages > 100 {
			t.Fatalf("%s: the cursor never ends", path)
		}
		code, out := h.api(key, http.MethodGet, path+sep+"after="+after, nil)
		if code != http.StatusOK {
			t.Fatalf("%s after %s: got %d %v", path, after, code, out)
		}
		m := out["meta"].(map[string]any)
		if _, counted := m["total"]; counted {
			t.Fatalf("%s: a cursor page has a total: %v", path, m)
		}
		for _, it := range out["data"].([]any) {
			ids = append(ids, int64(it.(map[string]any)["id"].(float64)))
		}
		after = ""
		if n, ok := m["next_after"].(float64); ok {
			after = fmt.Sprint(int64(n))
		}
	}
	return ids
}

func TestContactsByCursorWindowAndSort(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	clock := h.setClock()
	key := h.apiKey(store.ScopeFull)
	var want []int64
	for i := range 25 {
		want = append(want, audSeedContact(t, h, fmt.Sprintf("p%02d@example.com", 24-i), nil, nil))
		clock.Advance(time.Hour)
	}
	if got := cursorWalk(t, h, key, "/api/v1/contacts?per_page=10&order=asc"); !slices.Equal(got, want) {
		t.Fatalf("ascending walk: got %v, want %v", got, want)
	}
	got := cursorWalk(t, h, key, "/api/v1/contacts?per_page=7")
	slices.Reverse(got)
	if !slices.Equal(got, want) {
		t.Fatalf("descending walk: got %v reversed, want %v", got, want)
	}
	// Exactly a page's worth: the last page says there is no next.
	if got := cursorWalk(t, h, key, "/api/v1/contacts?per_page=25"); len(got) != 25 {
		t.Fatalf("one full page: got %d", len(got))
	}

	// By email, a–z: the last made first, as their emails count down.
	code, out := h.api(key, http.MethodGet, "/api/v1/contacts?sort=email&order=asc&per_page=3", nil)
	if got := audEmails(out); code != http.StatusOK || !slices.Equal(got, []string{"p00@example.com", "p01@example.com", "p02@example.com"}) {
		t.Fatalf("sort by email: got %d %v", code, got)
	}

	// A window of hours, by RFC 3339 time.
	first := clock.Now().Add(-25 * time.Hour)
	from, to := first.Add(2*time.Hour).UTC().Format(time.RFC3339), first.Add(5*time.Hour).UTC().Format(time.RFC3339)
	code, out = h.api(key, http.MethodGet, "/api/v1/contacts?order=asc&created_from="+from+"&created_to="+to, nil)
	if m := out["meta"].(map[string]any); code != http.StatusOK || len(out["data"].([]any)) != 3 || m["total"] != 3.0 || m["total_pages"] != 1.0 {
		t.Fatalf("window: got %d %v, want the 3 contacts made in it", code, out)
	}
	var ids []int64
	for _, it := range out["data"].([]any) {
		ids = append(ids, int64(it.(map[string]any)["id"].(float64)))
	}
	if !slices.Equal(ids, want[2:5]) {
		t.Fatalf("window: got %v, want %v", ids, want[2:5])
	}
}

func TestMessagesAndCampaignsSearch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	for _, m := range []struct{ to, subject string }{{"ann@shop.test", "Your receipt"}, {"bob@shop.test", "Reset your password"}, {"annie@else.test", "Welcome"}} {
		msg := store.Message{Kind: store.MessageTransactional, ToEmail: m.to, Subject: m.subject, FromEmail: "shop@shop.test", Status: store.MessageQueued, Text: "Hi"}
		if _, _, err := h.st.CreateMessage(t.Context(), store.NewMessage{Message: msg}); err != nil {
			t.Fatal(err)
		}
	}
	for q, want := range map[string][]string{"ann": {"annie@else.test", "ann@shop.test"}, "password": {"bob@shop.test"}, "RECEIPT": {"ann@shop.test"}, "zzz": nil} {
		code, out := h.api(key, http.MethodGet, "/api/v1/messages?q="+q, nil)
		var got []string
		for _, it := range out["data"].([]any) {
			got = append(got, it.(map[string]any)["to"].(string))
		}
		if code != http.StatusOK || !slices.Equal(got, want) {
			t.Errorf("messages q=%s: got %d %v, want %v", q, code, got, want)
		}
	}
	for _, n := range []string{"Spring sale", "Autumn news"} {
		if code, out := h.api(key, http.MethodPost, "/api/v1/campaigns", map[string]any{"name": n, "subject": n + "!"}); code != http.StatusCreated {
			t.Fatalf("campaign: got %d %v", code, out)
		}
	}
	code, out := h.api(key, http.MethodGet, "/api/v1/campaigns?q=sale", nil)
	if items := out["data"].([]any); code != http.StatusOK || len(items) != 1 || items[0].(map[string]any)["name"] != "Spring sale" {
		t.Fatalf("campaigns q=sale: got %d %v", code, out)
	}
}
