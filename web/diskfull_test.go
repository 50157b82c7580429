package web

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"herald/scheduler/imports"
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
	t.Parallel()
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
	t.Parallel()
	h := newHarness(t)
	code, out := h.api("", http.MethodGet, "/healthz", nil)
	free, _ := out["disk_free_bytes"].(float64)
	if free < defaultMinFreeDisk {
		t.Skipf("this machine has only %.0f bytes free", free)
	}
	if code != http.StatusOK || out["disk"] != "ok" || out["disk_min_free_bytes"] != float64(defaultMinFreeDisk) || out["tracking_backlog"] != float64(0) {
		t.Fatalf("healthz with space free: got %d %v, want 200 with the disk ok and no tracking backlog", code, out)
	}

	low := newHarness(t, func(c *harnessConfig) { c.MinFreeDisk = 1 << 62 })
	code, out = low.api("", http.MethodGet, "/healthz", nil)
	if code != http.StatusServiceUnavailable || out["status"] != "degraded" || out["disk"] != "low" || out["database"] != "ok" {
		t.Fatalf("healthz with less free than asked: got %d %v, want 503 with the disk low", code, out)
	}
}

// TestBulkOnAFullDiskSaysHowFarItGot fills the disk after the first batch:
// the 5000 contacts already on the list need no write, the next ones do.
func TestBulkOnAFullDiskSaysHowFarItGot(t *testing.T) {
	t.Parallel()
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

// audPausedImport uploads an import of rows contacts, fills the disk before
// the importer starts, and returns the job once the API shows it paused.
func audPausedImport(t *testing.T, rows int) (h *harness, key string, id int64, job map[string]any) {
	t.Helper()
	var w *imports.Worker
	h = newHarness(t, func(c *harnessConfig) {
		w = imports.NewWorker(c.Store, c.Logger)
		w.Idle, w.BatchSize, w.Retry, w.RetryMax = 10*time.Millisecond, 50, 5*time.Millisecond, 20*time.Millisecond
		c.Imports = w
	})
	h.signIn()
	key = h.apiKey(store.ScopeFull)
	var file strings.Builder
	file.WriteString("email,first_name\n")
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&file, "p%03d@example.com,P%d\n", i, i)
	}
	code, out, _ := h.audAPIImport(key, url.Values{}, "full.csv", file.String())
	if code != http.StatusAccepted {
		t.Fatalf("upload: got %d %v", code, out)
	}
	id = audID(audData(t, out))
	if err := h.st.LimitGrowth(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	audRunImporter(t, w)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		_, out := h.api(key, http.MethodGet, "/api/v1/imports/"+itoa(id), nil)
		if job = audData(t, out); job["status"] == store.ImportPaused {
			return h, key, id, job
		}
		if time.Now().After(deadline) {
			t.Fatalf("the API never showed the import paused: %v", job)
		}
	}
}

// TestImportPausedByAFullDiskShowsOnThePageAndAPI follows an import that
// meets a full disk through its pause to its end once there is space.
func TestImportPausedByAFullDiskShowsOnThePageAndAPI(t *testing.T) {
	t.Parallel()
	const rows = 500
	h, key, id, job := audPausedImport(t, rows)
	ctx := context.Background()
	if job["error"] != "the disk is full" {
		t.Fatalf("paused job in the API: got error %v, want %q", job["error"], "the disk is full")
	}
	loc := "/contacts/import/" + itoa(id)
	for _, path := range []string{loc, loc + "/progress"} {
		// The worker tries a paused import again now and then, so the
		// page may catch it running for a moment: look again.
		var page string
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if page = body(t, h.get(path)); strings.Contains(page, "Import paused") || time.Now().After(deadline) {
				break
			}
		}
		for _, want := range []string{"Import paused", "Paused because the disk is full. Free some space on the server", "carries on from line", `hx-get="` + loc + `/progress"`} {
			if !strings.Contains(page, want) {
				t.Errorf("%s lacks %q", path, want)
			}
		}
	}
	paused := false
	for deadline := time.Now().Add(10 * time.Second); !paused && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		paused = strings.Contains(body(t, h.get("/contacts/import")), ">paused<")
	}
	if !paused {
		t.Error("the imports page does not show the job paused")
	}

	if err := h.st.LiftGrowthLimit(ctx); err != nil {
		t.Fatal(err)
	}
	job = h.audWaitImport(key, id)
	if job["status"] != store.ImportDone || job["created"] != float64(rows) || job["error"] != nil {
		t.Fatalf("after space is freed: got %v, want done with %d created", job, rows)
	}
	if n, _ := h.st.CountContacts(ctx, store.ContactFilter{}); n != rows {
		t.Fatalf("contacts: got %d, want %d", n, rows)
	}
}

// TestImportCancelledWhilePausedLetsGoOfItsFile stops a paused import: its
// file goes, and once there is space the importer goes on to the next job
// without starting it again.
func TestImportCancelledWhilePausedLetsGoOfItsFile(t *testing.T) {
	t.Parallel()
	h, key, id, _ := audPausedImport(t, 500)
	ctx := context.Background()
	paused, _ := h.st.Import(ctx, id)
	resp := h.postForm("/contacts/import/"+itoa(id)+"/cancel", url.Values{}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel: got %d, want 303", resp.StatusCode)
	}
	if _, err := os.Stat(paused.FilePath); !os.IsNotExist(err) {
		t.Errorf("the file of the cancelled import: got %v, want it removed", err)
	}
	if err := h.st.LiftGrowthLimit(ctx); err != nil {
		t.Fatal(err)
	}
	code, out, _ := h.audAPIImport(key, url.Values{}, "next.csv", "email\nnext@example.com\n")
	if code != http.StatusAccepted {
		t.Fatalf("next upload: got %d %v", code, out)
	}
	if next := h.audWaitImport(key, audID(audData(t, out))); next["status"] != store.ImportDone {
		t.Fatalf("the next import: got %v, want done", next)
	}
	if j, _ := h.st.Import(ctx, id); j.Status != store.ImportCancelled || j.Total != paused.Total {
		t.Errorf("the cancelled import: got %s with %d lines, want cancelled with the %d from before", j.Status, j.Total, paused.Total)
	}
}

// TestErrorDiskFullFromAFileWrite maps a file write's ENOSPC, as saving an
// upload meets it, to 507. /dev/full stands in for a full filesystem,
// which a test cannot make without root.
func TestErrorDiskFullFromAFileWrite(t *testing.T) {
	t.Parallel()
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full to write to: %v", err)
	}
	defer f.Close()
	_, werr := f.Write([]byte("email\n"))
	ae := toAPIError(fmt.Errorf("saving the upload: %w", werr))
	if ae.Status != http.StatusInsufficientStorage || ae.Code != "insufficient_storage" || ae.Message != diskFullMessage {
		t.Fatalf("a write to a full disk: got %d %s %q, want 507 insufficient_storage", ae.Status, ae.Code, ae.Message)
	}
}
