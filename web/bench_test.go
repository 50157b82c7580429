package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"herald/scheduler"
	"herald/scheduler/imports"
	"herald/scheduler/outbound"
	"herald/store"
)

// benchContacts is how many contacts the audience benchmark loads;
// HERALD_BENCH_ROWS changes it.
func benchContacts() int {
	if n, err := strconv.Atoi(os.Getenv("HERALD_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// loadAudience fills the store through the real importer: half the
// contacts join a list with a tag, every tenth is unsubscribed through a
// second import, and all have city, age and plan attributes.
func loadAudience(b *testing.B, st *store.Store, n int) store.List {
	b.Helper()
	ctx := context.Background()
	l, err := st.CreateList(ctx, store.ListInput{Name: ptrTo("Half")})
	if err != nil {
		b.Fatal(err)
	}
	write := func(name string, from, to, step int) string {
		p := filepath.Join(b.TempDir(), name)
		f, _ := os.Create(p)
		w := bufio.NewWriter(f)
		fmt.Fprintln(w, "email,first_name,last_name,city,age,plan")
		cities := []string{"Leeds", "London", "Paris", "Berlin", "Lisbon", "Rome", "Oslo", "Nice", "Lyon", "Bonn"}
		for i := from; i < to; i += step {
			fmt.Fprintf(w, "person%d@example%d.com,First%d,Last%d,%s,%d,plan-%d\n", i, i%100, i, i, cities[i%10], i%90, i%3)
		}
		w.Flush()
		f.Close()
		return p
	}
	w := imports.NewWorker(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.Idle = 10 * time.Millisecond
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { cancel(); <-done }()
	run := func(path string, setup store.ImportSetup) {
		hd, err := imports.Inspect(path)
		if err != nil {
			b.Fatal(err)
		}
		setup.Mapping = imports.AutoMap(hd.Columns, nil)
		fi, _ := os.Stat(path)
		j, err := st.CreateImport(ctx, store.ImportJob{FileName: filepath.Base(path), FilePath: path, FileSize: fi.Size(), Headers: hd.Columns,
			Delimiter: string(hd.Delimiter), Offset: hd.DataOffset, Line: hd.DataLine}, &setup)
		if err != nil {
			b.Fatal(err)
		}
		w.Wake()
		for {
			j, _ = st.Import(ctx, j.ID)
			if j.Status == store.ImportDone {
				return
			}
			if j.Status == store.ImportFailed {
				b.Fatalf("import failed: %s", j.Error)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	run(write("half.csv", 0, n/2, 1), store.ImportSetup{Mode: store.ImportCreate, ListIDs: []int64{l.ID}, Tags: []string{"vip"}})
	run(write("rest.csv", n/2, n, 1), store.ImportSetup{Mode: store.ImportCreate})
	run(write("leavers.csv", 0, n, 10), store.ImportSetup{Mode: store.ImportUnsubscribe})
	return l
}

// BenchmarkAudience1M measures the audience targets on a million contacts:
// the contacts page and API list, segment counts by kind of rule, and search
// by email prefix. Run it with -bench Audience -benchtime 20x.
func BenchmarkAudience1M(b *testing.B) {
	box, _ := store.NewSecretBox([]byte("0123456789abcdef0123456789abcdef"))
	st, err := store.Open(context.Background(), b.TempDir(), box)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	out, err := outbound.New(outbound.Config{Store: st, Log: log})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := New(Config{Store: st, Outbound: out, Logger: log, Static: os.DirFS("../static"),
		Jobs: func() []scheduler.JobStatus { return nil }, Imports: noImports{}})
	if err != nil {
		b.Fatal(err)
	}
	l := loadAudience(b, st, benchContacts())
	ctx := context.Background()
	owner, err := st.CreateUser(ctx, store.NewUser{Email: ownerEmail, Role: store.RoleOwner, Password: ownerPassword})
	if err != nil {
		b.Fatal(err)
	}
	session, _, _ := st.CreateSession(ctx, owner.ID, "127.0.0.1", "bench")
	_, key, _ := st.CreateAPIKey(ctx, store.NewAPIKey{Name: "bench", Scopes: []string{store.ScopeRead}})
	get := func(b *testing.B, path string, api bool) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if api {
			req.Header.Set("Authorization", "Bearer "+key)
		} else {
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%s: got %d", path, rec.Code)
		}
	}
	b.Run("contacts page", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			get(b, "/contacts", false)
		}
	})
	b.Run("API list", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			get(b, "/api/v1/contacts?per_page=50", true)
		}
	})
	b.Run("email prefix search", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			get(b, fmt.Sprintf("/api/v1/contacts?q=person%d@", 123456+i), true)
		}
	})
	rules := map[string]string{
		"count attribute":     `{"match":"all","conditions":[{"field":"attributes.city","op":"eq","value":"Paris"}]}`,
		"count attribute and": `{"match":"all","conditions":[{"field":"attributes.city","op":"eq","value":"Paris"},{"field":"attributes.age","op":"gt","value":40}]}`,
		"count attribute2":    `{"match":"all","conditions":[{"field":"attributes.age","op":"gt","value":40},{"field":"attributes.plan","op":"eq","value":"plan-1"}]}`,
		"count attribute or":  `{"match":"any","conditions":[{"field":"attributes.city","op":"eq","value":"Paris"},{"field":"attributes.age","op":"gt","value":85}]}`,
		"count list":          fmt.Sprintf(`{"match":"all","conditions":[{"field":"list","op":"eq","value":%d}]}`, l.ID),
		"count tag":           `{"match":"all","conditions":[{"field":"tag","op":"eq","value":"vip"}]}`,
		"count status":        `{"match":"all","conditions":[{"field":"status","op":"eq","value":"unsubscribed"}]}`,
	}
	parsed := map[string]store.Rule{}
	segments := map[string]int64{}
	for name, js := range rules {
		var r store.Rule
		if err := json.Unmarshal([]byte(js), &r); err != nil {
			b.Fatal(err)
		}
		parsed[name] = r
		// Saved, as segments: their attributes get indexes.
		seg := name
		g, err := st.CreateSegment(ctx, store.SegmentInput{Name: &seg, Rules: &r})
		if err != nil {
			b.Fatal(err)
		}
		segments[name] = g.ID
	}
	start := time.Now()
	created, _, err := st.AttributeIndexes(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("indexes %v made in %s", created, time.Since(start).Round(time.Millisecond))
	for name, r := range parsed {
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := st.CountRule(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// What the owner waits for on an attribute segment at 1M: its count and
	// first page, as the API, the contacts page and the editor's live count
	// give them.
	page := httptest.NewRecorder()
	pageReq := httptest.NewRequest(http.MethodGet, "/segments/new", nil)
	pageReq.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
	srv.Handler().ServeHTTP(page, pageReq)
	csrf := csrfInput.FindStringSubmatch(page.Body.String())
	if csrf == nil {
		b.Fatalf("no CSRF field in the segment editor: %d", page.Code)
	}
	liveCount := func(b *testing.B, form url.Values) {
		form.Set("_csrf", csrf[1])
		req := httptest.NewRequest(http.MethodPost, "/segments/count", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "contact") {
			b.Fatalf("live count: %d %.300s", rec.Code, rec.Body.String())
		}
	}
	// The editor's form for each rule: match, then rows of attribute, op
	// and value.
	editorForm := func(match string, rows ...[3]string) url.Values {
		form := url.Values{"match.": {match}}
		for i, r := range rows {
			path := strconv.Itoa(i)
			form.Add("node", path)
			form.Set("field."+path, "attribute")
			form.Set("attr."+path, r[0])
			form.Set("op."+path, r[1])
			form.Set("value."+path, r[2])
		}
		return form
	}
	forms := map[string]url.Values{
		"count attribute":     editorForm("all", [3]string{"city", "eq", "Paris"}),
		"count attribute and": editorForm("all", [3]string{"city", "eq", "Paris"}, [3]string{"age", "gt", "40"}),
		"count attribute2":    editorForm("all", [3]string{"age", "gt", "40"}, [3]string{"plan", "eq", "plan-1"}),
		"count attribute or":  editorForm("any", [3]string{"city", "eq", "Paris"}, [3]string{"age", "gt", "85"}),
	}
	for _, name := range []string{"count attribute", "count attribute and", "count attribute or", "count attribute2"} {
		id := segments[name]
		b.Run(strings.TrimPrefix(name, "count ")+" API count and page", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				get(b, fmt.Sprintf("/api/v1/segments/%d/count", id), true)
				get(b, fmt.Sprintf("/api/v1/contacts?segment_id=%d&per_page=50", id), true)
			}
		})
		b.Run(strings.TrimPrefix(name, "count ")+" contacts page", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				get(b, fmt.Sprintf("/contacts?segment_id=%d", id), false)
			}
		})
		b.Run(strings.TrimPrefix(name, "count ")+" editor count", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				liveCount(b, forms[name])
			}
		})
	}
}
