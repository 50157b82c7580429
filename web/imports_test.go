package web

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"herald/scheduler/imports"
	"herald/store"
)

// audRunImporter runs w until cancel is called or the test ends; done closes
// when Run has returned. Cleanup cancels it and waits.
func audRunImporter(t testing.TB, w *imports.Worker) (cancel context.CancelFunc, done <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		if err := w.Run(ctx); err != nil {
			t.Errorf("importer: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	return cancel, finished
}

// audImportHarness is a harness whose server wakes a real importer, running.
func audImportHarness(t *testing.T) (*harness, *imports.Worker) {
	t.Helper()
	var w *imports.Worker
	h := newHarness(t, func(c *harnessConfig) {
		w = imports.NewWorker(c.Store, c.Logger)
		w.Idle = 10 * time.Millisecond
		c.Imports = w
	})
	audRunImporter(t, w)
	return h, w
}

// audMultipartBody encodes fields and, unless fileName is "", a file part.
func audMultipartBody(t testing.TB, fields url.Values, fileName, content string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	if fileName != "" {
		fw, err := mw.CreateFormFile("file", fileName)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(fw, content)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, mw.FormDataContentType()
}

// audAPIImport uploads a file to the import API.
func (h *harness) audAPIImport(key string, fields url.Values, fileName, content string) (int, map[string]any, http.Header) {
	h.t.Helper()
	r, ctype := audMultipartBody(h.t, fields, fileName, content)
	resp := h.request(http.DefaultClient, http.MethodPost, "/api/v1/imports", r,
		map[string]string{"Sec-Fetch-Site": "", "Content-Type": ctype, "Authorization": "Bearer " + key})
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		h.t.Fatalf("import answer is not JSON: %v", err)
	}
	return resp.StatusCode, out, resp.Header
}

// audWaitImport polls the API until the job ends and returns it.
func (h *harness) audWaitImport(key string, id int64) map[string]any {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, out := h.api(key, http.MethodGet, "/api/v1/imports/"+itoa(id), nil)
		if code != http.StatusOK {
			h.t.Fatalf("import %d: got %d %v", id, code, out)
		}
		job := audData(h.t, out)
		switch job["status"] {
		case store.ImportDone, store.ImportFailed, store.ImportCancelled:
			return job
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("import %d did not end: %v", id, job)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// audUploadsLeft lists the uploaded files still in the data folder.
func audUploadsLeft(t testing.TB, h *harness) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(h.st.Path()), "imports", "*"))
	return files
}

func TestAPIImportCreatesContactsOnListsWithTags(t *testing.T) {
	t.Parallel()
	h, _ := audImportHarness(t)
	key := h.apiKey(store.ScopeFull)
	ctx := context.Background()
	news := audSeedList(t, h, "Newsletter", store.OptInDouble)
	audSeedContact(t, h, "old@example.com", nil, nil)

	file := "Email,First Name,Last Name,Company,Tags\n" +
		"ann@example.com,Ann,Archer,Acme,red;blue\n" +
		"not-an-email,Bad,Row,,\n" +
		"bob@example.com,Bob,,Beta,\n" +
		",,,,\n" +
		",Nobody,,,\n" +
		"OLD@example.com,Old,,,\n" +
		"carl@example.com,Carl,Cole,,green\n"
	fields := url.Values{"list_ids": {itoa(news)}, "tags": {"imported, spring"}, "mode": {"create"}, "mapping": {`{"Company": "company"}`}}
	code, out, hdr := h.audAPIImport(key, fields, "people.csv", file)
	if code != http.StatusAccepted {
		t.Fatalf("upload: got %d %v, want 202", code, out)
	}
	job := audData(t, out)
	id := audID(job)
	if hdr.Get("Location") != "/api/v1/imports/"+itoa(id) || job["file_name"] != "people.csv" || job["mode"] != "create" {
		t.Errorf("queued job: got %v, Location %q", job, hdr.Get("Location"))
	}
	wantMapping := map[string]any{"Email": "email", "First Name": "first_name", "Last Name": "last_name", "Company": "attribute:company", "Tags": "tags"}
	if !reflect.DeepEqual(job["mapping"], wantMapping) {
		t.Errorf("mapping: got %v, want %v", job["mapping"], wantMapping)
	}

	job = h.audWaitImport(key, id)
	counts := map[string]any{"status": job["status"], "total": job["total"], "created": job["created"], "updated": job["updated"],
		"skipped": job["skipped"], "invalid": job["invalid"], "progress": job["progress"]}
	wantCounts := map[string]any{"status": "done", "total": 6.0, "created": 3.0, "updated": 0.0, "skipped": 1.0, "invalid": 2.0, "progress": 1.0}
	if !reflect.DeepEqual(counts, wantCounts) {
		t.Errorf("finished job: got %v, want %v", counts, wantCounts)
	}
	if job["finished_at"] == nil || !reflect.DeepEqual(job["list_ids"], []any{float64(news)}) || !reflect.DeepEqual(job["tags"], []any{"imported", "spring"}) {
		t.Errorf("finished job: got %v", job)
	}
	errs, _ := job["errors"].([]any)
	if len(errs) != 2 {
		t.Fatalf("errors: got %v, want lines 3 and 6", errs)
	}
	for i, want := range []struct {
		line float64
		says string
	}{{3, "not-an-email"}, {6, "no email address"}} {
		e := errs[i].(map[string]any)
		if e["line"] != want.line || !strings.Contains(e["reason"].(string), want.says) {
			t.Errorf("error %d: got %v, want line %v mentioning %q (the header is line 1)", i, e, want.line, want.says)
		}
	}

	ann, err := h.st.ContactByEmail(ctx, "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if ann.FirstName != "Ann" || ann.LastName != "Archer" || ann.Attributes["company"] != "Acme" || ann.Source != "import: people.csv" {
		t.Errorf("ann: got %+v", ann)
	}
	if want := []string{"blue", "imported", "red", "spring"}; !reflect.DeepEqual(ann.Tags, want) {
		t.Errorf("ann's tags: got %v, want %v", ann.Tags, want)
	}
	if len(ann.Memberships) != 1 || ann.Memberships[0].ListID != news || ann.Memberships[0].Status != store.MemberConfirmed {
		t.Errorf("ann's lists: got %+v, want Newsletter confirmed", ann.Memberships)
	}
	old, _ := h.st.ContactByEmail(ctx, "old@example.com")
	if old.FirstName != "" || len(old.Tags) != 0 || len(old.Memberships) != 0 {
		t.Errorf("create mode changed an existing contact: %+v", old)
	}
	if n, _ := h.st.CountContacts(ctx, store.ContactFilter{ListID: news, Tag: "spring"}); n != 3 {
		t.Errorf("imported contacts on the list with the tag: got %d, want 3", n)
	}
	if left := audUploadsLeft(t, h); len(left) != 0 {
		t.Errorf("uploads left after the import: %v", left)
	}

	code, out = h.api(key, http.MethodGet, "/api/v1/imports", nil)
	if items, _ := out["data"].([]any); code != http.StatusOK || len(items) != 1 || audID(items[0].(map[string]any)) != id {
		t.Errorf("import list: got %d %v", code, out)
	}
	if code, _ := h.api(key, http.MethodGet, "/api/v1/imports/999", nil); code != http.StatusNotFound {
		t.Errorf("missing import: got %d, want 404", code)
	}
}

func TestAPIImportRefusesBadUploads(t *testing.T) {
	t.Parallel()
	h, _ := audImportHarness(t)
	key := h.apiKey(store.ScopeFull)
	file := "email,name\nann@example.com,Ann\n"
	cases := []struct {
		name     string
		fields   url.Values
		fileName string
		content  string
		field    string
		says     string
	}{
		{"mapping names a missing column", url.Values{"mapping": {`{"E-mail": "email"}`}}, "a.csv", file, "mapping", `"E-mail"`},
		{"mapping is not JSON", url.Values{"mapping": {`email=email`}}, "a.csv", file, "mapping", "JSON"},
		{"no file", url.Values{"mode": {"create"}}, "", "", "file", "Choose a CSV file"},
		{"empty file", nil, "a.csv", "  \n", "file", "empty"},
		{"bad mode", url.Values{"mode": {"merge"}}, "a.csv", file, "mode", "Mode must be"},
		{"missing list", url.Values{"list_ids": {"999"}}, "a.csv", file, "list_ids", "999"},
		{"list ids not numbers", url.Values{"list_ids": {"news"}}, "a.csv", file, "list_ids", "numbers"},
		{"no email column", url.Values{"mapping": {`{"email": "ignore"}`}}, "a.csv", file, "mapping", "email"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, _ := h.audAPIImport(key, tc.fields, tc.fileName, tc.content)
			_, fields := audError(out)
			msg, _ := fields[tc.field].(string)
			if code != http.StatusUnprocessableEntity || !strings.Contains(msg, tc.says) {
				t.Fatalf("got %d %v, want 422 with %q mentioning %q", code, out, tc.field, tc.says)
			}
		})
	}
	code, out := h.api(key, http.MethodPost, "/api/v1/imports", map[string]any{"file": "email\na@example.com"})
	if code != http.StatusBadRequest {
		t.Errorf("JSON body: got %d %v, want 400", code, out)
	}
	if left := audUploadsLeft(t, h); len(left) != 0 {
		t.Errorf("refused uploads left files behind: %v", left)
	}
	if jobs, _ := h.st.Imports(context.Background(), 10); len(jobs) != 0 {
		t.Errorf("refused uploads made %d jobs", len(jobs))
	}
}

func TestAPIImportBlockModeSuppresses(t *testing.T) {
	t.Parallel()
	h, _ := audImportHarness(t)
	key := h.apiKey(store.ScopeFull)
	ctx := context.Background()
	audSeedContact(t, h, "known@example.com", nil, nil)
	code, out, _ := h.audAPIImport(key, url.Values{"mode": {"block"}}, "block.csv", "email\nKnown@example.com\nstranger@example.org\n")
	if code != http.StatusAccepted {
		t.Fatalf("upload: got %d %v", code, out)
	}
	job := h.audWaitImport(key, audID(audData(t, out)))
	if job["status"] != "done" || job["created"] != 1.0 || job["updated"] != 1.0 {
		t.Errorf("block job: got %v, want done with 1 created and 1 updated", job)
	}
	for _, email := range []string{"known@example.com", "stranger@example.org"} {
		sp, suppressed, err := h.st.Suppressed(ctx, email)
		if !suppressed || err != nil || sp.Source != "import" {
			t.Errorf("%s: suppressed %v (%+v, %v), want true from the import", email, suppressed, sp, err)
		}
		if c, _ := h.st.ContactByEmail(ctx, email); c.Status != store.StatusBlocked {
			t.Errorf("%s status: got %q, want blocked", email, c.Status)
		}
	}
}

func TestAPIImportAwkwardFile(t *testing.T) {
	t.Parallel()
	h, _ := audImportHarness(t)
	key := h.apiKey(store.ScopeFull)
	ctx := context.Background()
	file := "\xEF\xBB\xBFE-mail;Name;Notes\r\n" +
		"dora@example.com;Dora Diaz;\"likes; semicolons\"\r\n" +
		"eve@example.com;Eve;\"two\r\nlines; here\"\r\n" +
		"DORA@example.com;Dora Again;repeat\r\n" +
		"fay@example.com;Fay Fox Farley;plain\r\n" +
		"broken;x;y\r\n"
	code, out, _ := h.audAPIImport(key, nil, "excel.csv", file)
	if code != http.StatusAccepted {
		t.Fatalf("upload: got %d %v", code, out)
	}
	if got, want := audData(t, out)["mapping"], map[string]any{"E-mail": "email", "Name": "full_name", "Notes": "attribute:notes"}; !reflect.DeepEqual(got, want) {
		t.Errorf("mapping proposed: got %v, want %v (the BOM must not stick to the first header)", got, want)
	}
	job := h.audWaitImport(key, audID(audData(t, out)))
	counts := []any{job["status"], job["total"], job["created"], job["skipped"], job["invalid"]}
	if want := []any{"done", 5.0, 3.0, 1.0, 1.0}; !reflect.DeepEqual(counts, want) {
		t.Errorf("status, total, created, skipped, invalid: got %v, want %v", counts, want)
	}
	if errs := job["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["line"] != 7.0 {
		t.Errorf("errors: got %v, want line 7 (the quoted line break spans lines 3 and 4)", errs)
	}
	want := map[string][3]string{
		"dora@example.com": {"Dora", "Diaz", "likes; semicolons"},
		"eve@example.com":  {"Eve", "", "two\nlines; here"},
		"fay@example.com":  {"Fay", "Fox Farley", "plain"},
	}
	for email, w := range want {
		c, err := h.st.ContactByEmail(ctx, email)
		if err != nil {
			t.Errorf("%s: %v", email, err)
			continue
		}
		if got := [3]string{c.FirstName, c.LastName, fmt.Sprint(c.Attributes["notes"])}; got != w {
			t.Errorf("%s: got %q, want %q", email, got, w)
		}
	}
	if n, _ := h.st.CountContacts(ctx, store.ContactFilter{}); n != 3 {
		t.Errorf("contacts: got %d, want 3 (the repeat is one contact)", n)
	}
}

// TestImportResumesAfterARestart stops the importer after its first batch
// and starts a new one, which must carry on from the next line.
func TestImportResumesAfterARestart(t *testing.T) {
	t.Parallel()
	var first *imports.Worker
	h := newHarness(t, func(c *harnessConfig) {
		first = imports.NewWorker(c.Store, c.Logger)
		first.Idle, first.BatchSize = 10*time.Millisecond, 5
		c.Imports = first
	})
	key := h.apiKey(store.ScopeFull)
	ctx := context.Background()
	const rows = 30
	var file strings.Builder
	file.WriteString("email,first_name\n")
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&file, "p%02d@example.com,P%d\n", i, i)
	}
	code, out, _ := h.audAPIImport(key, url.Values{"tags": {"resumed"}}, "resume.csv", file.String())
	if code != http.StatusAccepted {
		t.Fatalf("upload: got %d %v", code, out)
	}
	id := audID(audData(t, out))

	// The store has one writer connection. Holding it while looking at the
	// job means the worker cannot commit another batch between the look and
	// the stop, so it stops part way through.
	cancelFirst, firstDone := audRunImporter(t, first)
	deadline := time.Now().Add(30 * time.Second)
	for stopped := false; !stopped; {
		err := h.st.Tx(ctx, func(*sql.Tx) error {
			j, err := h.st.Import(ctx, id)
			if err != nil {
				return err
			}
			if j.Total > 0 {
				cancelFirst()
				stopped = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the first worker never committed a batch")
		}
	}
	<-firstDone
	j, _ := h.st.Import(ctx, id)
	if j.Status != store.ImportRunning || j.Total == 0 || j.Total >= rows {
		t.Fatalf("after the stop: got status %s with %d of %d lines, want running part way", j.Status, j.Total, rows)
	}
	t.Logf("stopped after %d of %d lines", j.Total, rows)

	second := imports.NewWorker(h.st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	second.Idle, second.BatchSize = 10*time.Millisecond, 5
	audRunImporter(t, second)
	job := h.audWaitImport(key, id)
	counts := []any{job["status"], job["total"], job["created"], job["skipped"], job["invalid"]}
	if want := []any{"done", float64(rows), float64(rows), 0.0, 0.0}; !reflect.DeepEqual(counts, want) {
		t.Errorf("status, total, created, skipped, invalid: got %v, want %v: every line once", counts, want)
	}
	p, err := h.st.Contacts(ctx, store.ContactFilter{Tag: "resumed"}, 1, 100)
	if err != nil || p.Total != rows {
		t.Fatalf("imported contacts: got %d, %v, want %d", p.Total, err, rows)
	}
	seen := map[string]int{}
	for _, c := range p.Contacts {
		seen[c.Email]++
	}
	for i := 0; i < rows; i++ {
		if email := fmt.Sprintf("p%02d@example.com", i); seen[email] != 1 {
			t.Errorf("%s imported %d times, want once", email, seen[email])
		}
	}
}

var audImportLocation = regexp.MustCompile(`^/contacts/import/(\d+)$`)

// audUploadUI posts a file to the import page the way the browser form does.
func (h *harness) audUploadUI(fileName, content string) *http.Response {
	h.t.Helper()
	r, ctype := audMultipartBody(h.t, nil, fileName, content)
	return h.request(h.client, http.MethodPost, "/contacts/import", r, map[string]string{"Content-Type": ctype})
}

func TestImportPagesUploadMapAndFinish(t *testing.T) {
	t.Parallel()
	h, _ := audImportHarness(t)
	h.signIn()
	ctx := context.Background()
	news := audSeedList(t, h, "Newsletter", store.OptInSingle)

	resp := h.audUploadUI("club.csv", "Member,Given,Town\nann@example.com,Ann,Leeds\nbob@example.com,Bob,York\n")
	m := audImportLocation.FindStringSubmatch(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("upload: got %d to %q, want 303 to the mapping step", resp.StatusCode, resp.Header.Get("Location"))
	}
	loc := m[0]
	resp = h.get(loc)
	page := body(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mapping page: got %d", resp.StatusCode)
	}
	for _, want := range []string{"Member", "Given", "Town", "ann@example.com", "bob@example.com", "Leeds", "York",
		`name="target_0"`, `name="target_1"`, `name="target_2"`, "Newsletter"} {
		if !strings.Contains(page, want) {
			t.Errorf("mapping page lacks %q", want)
		}
	}

	bad := url.Values{"target_0": {"email"}, "target_1": {"email"}, "target_2": {"ignore"}, "mode": {"create"}}
	resp = h.postForm(loc, bad, nil)
	if page := body(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Choose exactly one column holding the email address") {
		t.Errorf("two email columns: got %d, want 422 saying so", resp.StatusCode)
	}

	form := url.Values{"target_0": {"email"}, "target_1": {"first_name"}, "target_2": {"attribute"}, "attr_2": {"town"},
		"mode": {"create"}, "tags": {"club"}, "list_ids": {itoa(news)}}
	resp = h.postForm(loc, form, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != loc {
		t.Fatalf("start: got %d to %q, want 303 to %s", resp.StatusCode, resp.Header.Get("Location"), loc)
	}
	deadline := time.Now().Add(30 * time.Second)
	for page = body(t, h.get(loc)); !strings.Contains(page, "Import finished"); page = body(t, h.get(loc)) {
		if time.Now().After(deadline) {
			t.Fatalf("the job page never said the import finished: %.500s", page)
		}
		time.Sleep(10 * time.Millisecond)
	}
	ann, err := h.st.ContactByEmail(ctx, "ann@example.com")
	if err != nil || ann.FirstName != "Ann" || ann.Attributes["town"] != "Leeds" || !reflect.DeepEqual(ann.Tags, []string{"club"}) ||
		len(ann.Memberships) != 1 || ann.Memberships[0].ListID != news {
		t.Errorf("ann after the UI import: %+v, %v", ann, err)
	}
	resp = h.postForm(loc, form, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("starting a finished import again: got %d, want 303 back with a message", resp.StatusCode)
	}
	if page := body(t, h.get("/contacts/import")); !strings.Contains(page, "club.csv") {
		t.Error("the imports page does not list the finished job")
	}
	if frag := body(t, h.get(loc+"/progress")); !strings.Contains(frag, "Import finished") {
		t.Errorf("progress fragment: got %.300s", frag)
	}
}

func TestImportPagesCancelADraftAndRefuseNoFile(t *testing.T) {
	t.Parallel()
	h, _ := audImportHarness(t)
	h.signIn()
	ctx := context.Background()

	resp := h.audUploadUI("draft.csv", "email\nann@example.com\n")
	m := audImportLocation.FindStringSubmatch(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("upload: got %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	id := int64(0)
	fmt.Sscan(m[1], &id)
	j, err := h.st.Import(ctx, id)
	if err != nil || j.Status != store.ImportDraft {
		t.Fatalf("after upload: got %+v, %v, want a draft", j, err)
	}
	if _, err := os.Stat(j.FilePath); err != nil {
		t.Fatalf("uploaded file: %v", err)
	}
	resp = h.postForm(m[0]+"/cancel", url.Values{}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/contacts/import" {
		t.Fatalf("cancel: got %d to %q, want 303 to /contacts/import", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := os.Stat(j.FilePath); !os.IsNotExist(err) {
		t.Errorf("uploaded file after cancelling the draft: got %v, want it removed", err)
	}
	if j, _ := h.st.Import(ctx, id); j.Status != store.ImportCancelled {
		t.Errorf("status after cancel: got %s, want cancelled", j.Status)
	}
	if n, _ := h.st.CountContacts(ctx, store.ContactFilter{}); n != 0 {
		t.Errorf("contacts after a cancelled draft: got %d, want 0", n)
	}

	r, ctype := audMultipartBody(t, url.Values{"note": {"no file here"}}, "", "")
	resp = h.request(h.client, http.MethodPost, "/contacts/import", r, map[string]string{"Content-Type": ctype})
	if page := body(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Choose a CSV file") {
		t.Errorf("upload without a file: got %d, want 422 asking for a file", resp.StatusCode)
	}
}
