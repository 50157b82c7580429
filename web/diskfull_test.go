package web

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"herald/store"
)

// fillDisk stops the database from growing, as a full disk does, and
// returns the answer of the first API write it refuses.
func fillDisk(t *testing.T, h *harness, key string) (int, map[string]any) {
	t.Helper()
	ctx := context.Background()
	if err := h.st.LimitGrowth(ctx, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.st.LiftGrowthLimit(context.Background()) })
	notes := strings.Repeat("n", 8000)
	for i := 0; i < 1000; i++ {
		code, out := h.api(key, http.MethodPost, "/api/v1/contacts",
			map[string]any{"email": fmt.Sprintf("fill%d@example.com", i), "attributes": map[string]any{"notes": notes}})
		if code != http.StatusCreated {
			return code, out
		}
	}
	t.Fatal("the database kept growing past its limit")
	return 0, nil
}

func TestErrorDiskFullAnswers507(t *testing.T) {
	h := newHarness(t)
	h.signIn()
	key := h.apiKey(store.ScopeFull)
	code, out := fillDisk(t, h, key)
	errCode, _ := audError(out)
	msg, _ := out["error"].(map[string]any)["message"].(string)
	if code != http.StatusInsufficientStorage || errCode != "insufficient_storage" || !strings.HasPrefix(msg, "The disk is full: free some space on the server") {
		t.Fatalf("API write on a full disk: got %d %v, want 507 insufficient_storage saying the disk is full", code, out)
	}

	form := url.Values{"email": {"ui@example.com"}, "attr_key": {"notes"}, "attr_type": {"text"}, "attr_value": {strings.Repeat("n", 8000)}}
	for _, hdr := range []map[string]string{nil, {"HX-Request": "true"}} {
		resp := h.postForm("/contacts", form, hdr)
		if page := body(t, resp); resp.StatusCode != http.StatusInsufficientStorage || !strings.Contains(page, "The disk is full: free some space on the server") {
			t.Errorf("form post %v on a full disk: got %d, want 507 saying the disk is full", hdr, resp.StatusCode)
		}
	}

	if err := h.st.LiftGrowthLimit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, out := h.api(key, http.MethodPost, "/api/v1/contacts", map[string]any{"email": "later@example.com"}); code != http.StatusCreated {
		t.Fatalf("after space is freed: got %d %v, want 201", code, out)
	}
}

func TestHealthzFailsWhenTheDiskIsLow(t *testing.T) {
	h := newHarness(t)
	code, out := h.api("", http.MethodGet, "/healthz", nil)
	free, _ := out["disk_free_bytes"].(float64)
	if free < defaultMinFreeDisk {
		t.Skipf("this machine has only %.0f bytes free", free)
	}
	if code != http.StatusOK || out["disk"] != "ok" || out["disk_min_free_bytes"] != float64(defaultMinFreeDisk) {
		t.Fatalf("healthz with space free: got %d %v, want 200 with the disk ok", code, out)
	}

	low := newHarness(t, func(c *Config) { c.MinFreeDisk = 1 << 62 })
	code, out = low.api("", http.MethodGet, "/healthz", nil)
	if code != http.StatusServiceUnavailable || out["status"] != "degraded" || out["disk"] != "low" || out["database"] != "ok" {
		t.Fatalf("healthz with less free than asked: got %d %v, want 503 with the disk low", code, out)
	}
}

// TestBulkOnAFullDiskSaysHowFarItGot fills the disk after the first batch:
// the 5000 contacts already on the list need no write, the next ones do.
func TestBulkOnAFullDiskSaysHowFarItGot(t *testing.T) {
	h := newHarness(t)
	h.signIn()
	key := h.apiKey(store.ScopeFull)
	ctx := context.Background()
	list := audSeedList(t, h, "News", store.OptInSingle)
	err := h.st.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000)
INSERT INTO contacts (email, created_at, updated_at) SELECT 'c' || i || '@example.com', 0, 0 FROM n`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO list_members (list_id, contact_id, status, created_at, updated_at)
SELECT ?, id, 'confirmed', 0, 0 FROM contacts ORDER BY id LIMIT 5000`, list)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.st.LimitGrowth(ctx, 0); err != nil {
		t.Fatal(err)
	}
	const says = "5000 of the 12000 matching contacts were done (0 changed) and the other 7000 are as they were"
	code, out := h.api(key, http.MethodPost, "/api/v1/contacts/bulk", map[string]any{"action": "add_to_list", "list_id": list, "all": true})
	errCode, _ := audError(out)
	msg, _ := out["error"].(map[string]any)["message"].(string)
	if code != http.StatusInsufficientStorage || errCode != "insufficient_storage" || !strings.Contains(msg, says) {
		t.Fatalf("API bulk on a full disk: got %d %v, want 507 saying %q", code, out, says)
	}
	resp := h.postForm("/contacts/bulk", url.Values{"scope": {"all"}, "filter": {""}, "action": {"add_to_list"}, "list_id": {itoa(list)}}, nil)
	if page := body(t, resp); resp.StatusCode != http.StatusInsufficientStorage || !strings.Contains(page, says) {
		t.Fatalf("bulk form on a full disk: got %d, want 507 saying %q", resp.StatusCode, says)
	}
	if n, _ := h.st.CountContacts(ctx, store.ContactFilter{ListID: list}); n != 5000 {
		t.Fatalf("members: got %d, want the 5000 from before", n)
	}
	if err := h.st.LiftGrowthLimit(ctx); err != nil {
		t.Fatal(err)
	}
	code, out = h.api(key, http.MethodPost, "/api/v1/contacts/bulk", map[string]any{"action": "add_to_list", "list_id": list, "all": true})
	if changed := audData(t, out)["changed"]; code != http.StatusOK || changed != 7000.0 {
		t.Fatalf("run again: got %d %v, want the other 7000 changed", code, out)
	}
}
