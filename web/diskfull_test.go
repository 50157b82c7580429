package web

import (
	"context"
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
