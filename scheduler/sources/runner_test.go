package sources

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"herald/store"
)

func testStore(t testing.TB) *store.Store {
	t.Helper()
	box, _ := store.NewSecretBox([]byte("0123456789abcdef0123456789abcdef"))
	st, err := store.Open(context.Background(), t.TempDir(), box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// shopSource makes a source of the shop at url, paged by page and
// per_page, its records' email, first name and city mapped.
func shopSource(t *testing.T, st *store.Store, url string, edit ...func(*store.SourceInput)) store.Source {
	t.Helper()
	name, kind, token := "Shop", "bearer", "tok"
	list, err := st.CreateList(context.Background(), store.ListInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	in := store.SourceInput{Name: &name, URL: &url, AuthKind: &kind, Secret: &token, Paging: &store.SourcePaging{Kind: "page", Size: 3},
		Mapping: &store.SourceMapping{Mode: store.ImportUpsert, ListIDs: []int64{list.ID}, Tags: []string{"shop"}, Fields: []store.SourceField{
			{Path: "email", Target: "email"}, {Path: "first", Target: "first_name"}, {Path: "address.city", Target: "attribute:city"}}}}
	for _, e := range edit {
		e(&in)
	}
	src, err := st.CreateSource(context.Background(), in, "owner@example.com")
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// shop serves n customers, three a page, the fourth without an address;
// failing makes it answer 500.
type shop struct {
	mu      sync.Mutex
	n       int
	failing bool
	asked   []int
}

func (s *shop) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer tok" {
		http.Error(w, "who are you", http.StatusUnauthorized)
		return
	}
	if s.failing {
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
		return
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	s.asked = append(s.asked, page)
	var out []map[string]any
	for i := (page-1)*3 + 1; i <= min(page*3, s.n); i++ {
		c := map[string]any{"email": fmt.Sprintf("c%d@example.com", i), "first": fmt.Sprintf("C%d", i), "address": map[string]any{"city": "Paris"}}
		if i == 4 {
			c["email"] = "not an address"
		}
		out = append(out, c)
	}
	writeJSON(w, map[string]any{"data": out})
}

func TestRunImportsEveryPage(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	sh := &shop{n: 8}
	srv, f := api(t, sh.serve)
	src := shopSource(t, st, srv.URL+"/customers")
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	r := &Runner{Store: st, Fetcher: f, Log: quiet(), Now: func() time.Time { return now }}
	run, after, err := r.Run(context.Background(), src.ID, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	j := run.Job
	if run.Status != store.SourceRunDone || run.Pages != 4 || run.Fetched != 8 || j.Created != 7 || j.Invalid != 1 || j.Status != store.ImportDone {
		t.Fatalf("run: %+v", run)
	}
	if errs, _ := st.ImportErrors(context.Background(), j.ID, 10); len(errs) != 1 || errs[0].Line != 4 {
		t.Errorf("bad records: got %+v, want the 4th", errs)
	}
	c, err := st.ContactByEmail(context.Background(), "c8@example.com")
	if err != nil || c.FirstName != "C8" || c.Attributes["city"] != "Paris" || len(c.Tags) != 1 || c.Tags[0] != "shop" {
		t.Errorf("contact: %+v, %v", c, err)
	}
	if after.Failures != 0 || !after.LastSuccessAt.Equal(run.StartedAt) || !after.NextRunAt.Equal(time.Date(2026, 12, 6, 6, 0, 0, 0, time.UTC)) {
		t.Errorf("source after: %+v", after)
	}
	// The next run asks only for what changed since this one started.
	var since string
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		since = r.URL.Query().Get("changed_after")
		writeJSON(w, []any{})
	})
	param := "changed_after"
	if _, err := st.UpdateSource(context.Background(), src.ID, store.SourceInput{SinceParam: &param}, "owner@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Run(context.Background(), src.ID, time.UTC); err != nil || since != run.StartedAt.UTC().Format(time.RFC3339) {
		t.Errorf("incremental: asked since %q, %v", since, err)
	}
}

// TestRunResumesWhereItStopped stops a run after its second page, as a
// crash would, and runs again: it resumes at the third page, and nobody is
// written twice.
func TestRunResumesWhereItStopped(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	sh := &shop{n: 9}
	srv, f := api(t, sh.serve)
	src := shopSource(t, st, srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	pages := 0
	r := &Runner{Store: st, Fetcher: f, Log: quiet()}
	inner := f.Client.Transport
	f.Client.Transport = roundTrip(func(req *http.Request) (*http.Response, error) {
		if pages++; pages == 3 {
			cancel() // stopped while asking for the third page
		}
		return inner.RoundTrip(req)
	})
	if _, _, err := r.Run(ctx, src.ID, time.UTC); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: got %v, want it stopped", err)
	}
	f.Client.Transport = inner
	run, _, err := r.Run(context.Background(), src.ID, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != store.SourceRunDone || run.Pages != 4 || run.Fetched != 9 || run.Job.Created != 8 || run.Job.Updated != 0 {
		t.Errorf("resumed run: %d pages, %d fetched, %d created, %d updated; want 4, 9, 8, 0 (asked %v)", run.Pages, run.Fetched, run.Job.Created, run.Job.Updated, sh.asked)
	}
	if fmt.Sprint(sh.asked) != "[1 2 3 3 4]" && fmt.Sprint(sh.asked) != "[1 2 3 4]" {
		t.Errorf("pages asked: %v, want page 3 again at most, not 1 and 2", sh.asked)
	}
	if runs, _ := st.SourceRuns(context.Background(), src.ID, 10); len(runs) != 1 {
		t.Errorf("runs: got %d, want the one resumed", len(runs))
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestFailingSourceBacksOffAndIsDisabled: failed runs are retried after 5,
// then 10 minutes, and the third in a row disables the source with why.
func TestFailingSourceBacksOffAndIsDisabled(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	sh := &shop{n: 3, failing: true}
	srv, f := api(t, sh.serve)
	src := shopSource(t, st, srv.URL)
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	var told []string
	r := &Runner{Store: st, Fetcher: f, Log: quiet(), Now: func() time.Time { return now },
		Notify: func(_ context.Context, subject, text string) { told = append(told, subject+"\n"+text) }}
	for i, wait := range []time.Duration{5 * time.Minute, 10 * time.Minute, 20 * time.Minute} {
		run, after, err := r.Run(context.Background(), src.ID, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != store.SourceRunFailed || after.Failures != i+1 || !after.NextRunAt.Equal(now.Add(wait)) || after.LastError == "" {
			t.Errorf("failure %d: run %s, source %+v", i+1, run.Status, after)
		}
		if enabled := i < 2; after.Enabled != enabled {
			t.Errorf("failure %d: enabled %v, want %v (%s)", i+1, after.Enabled, enabled, after.DisabledReason)
		}
	}
	after, _ := st.Source(context.Background(), src.ID)
	if after.DisabledReason == "" || after.Enabled {
		t.Errorf("disabled: %+v", after)
	}
	if len(told) != 1 || !strings.Contains(told[0], `"Shop" disabled itself`) || !strings.Contains(told[0], "500") {
		t.Errorf("owners told %q, want once, when the source was disabled, with why", told)
	}
	if RetryDelay(4) != 40*time.Minute || RetryDelay(9) != 40*time.Minute {
		t.Errorf("retry delays: %v %v", RetryDelay(4), RetryDelay(9))
	}
}

func TestNextRun(t *testing.T) {
	t.Parallel()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no timezone data")
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, paris)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		schedule string
		minute   int
		now      string
		want     string
	}{
		{"daily", 6 * 60, "2026-12-05 05:59", "2026-12-05 06:00"},
		{"daily", 6 * 60, "2026-12-05 06:00", "2026-12-06 06:00"},
		{"hourly", 15, "2026-12-05 10:20", "2026-12-05 11:15"},
		{"weekly", 9 * 60, "2026-12-05 10:00", "2026-12-07 09:00"}, // a Saturday: the next Monday
		{"weekly", 9 * 60, "2026-12-07 08:00", "2026-12-07 09:00"},
		{"monthly", 0, "2026-12-05 10:00", "2027-01-01 00:00"},
		// Across the spring change, still at 06:00 local time.
		{"daily", 6 * 60, "2027-03-28 01:00", "2027-03-28 06:00"},
		{"daily", 6 * 60, "2027-03-27 07:00", "2027-03-28 06:00"},
	} {
		if got := NextRun(c.schedule, c.minute, paris, at(c.now)); !got.Equal(at(c.want)) {
			t.Errorf("%s at %d after %s: got %s, want %s", c.schedule, c.minute, c.now, got.In(paris), c.want)
		}
	}
	// When clocks go back, an hour comes twice: an hourly source at :30
	// that ran in the second 01:xx in New York runs next at 02:30, not at
	// a 01:30 already past.
	york, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no timezone data")
	}
	second := time.Date(2026, 11, 1, 6, 41, 0, 0, time.UTC) // 01:41 EST, an hour after 01:41 EDT
	for _, now := range []time.Time{second, second.Add(-time.Hour)} {
		if got := NextRun("hourly", 30, york, now); !got.After(now) || got.Sub(now) > time.Hour {
			t.Errorf("hourly at :30 after %s: got %s, want within the next hour", now.In(york), got.In(york))
		}
	}
}

// TestRunsKeepTheirDistance: a run that ends close to its schedule's next
// time skips it, so runs are at least MinInterval apart.
func TestRunsKeepTheirDistance(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	sh := &shop{n: 2}
	srv, f := api(t, sh.serve)
	hourly, at := "hourly", 0
	src := shopSource(t, st, srv.URL, func(in *store.SourceInput) { in.Schedule, in.AtMinute = &hourly, &at })
	now := time.Date(2026, 12, 5, 10, 55, 0, 0, time.UTC)
	r := &Runner{Store: st, Fetcher: f, Log: quiet(), Now: func() time.Time { return now }}
	_, after, err := r.Run(context.Background(), src.ID, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC); !after.NextRunAt.Equal(want) {
		t.Errorf("next run after a run that ended at 10:55: %v, want %v, not 11:00", after.NextRunAt, want)
	}
}

// TestContactsGoneFromTheSourceLeaveItsLists: with leave_lists, contacts
// an earlier run had and a later one has not leave the source's lists
// (one who unsubscribed stays unsubscribed); a capped run takes nobody out.
func TestContactsGoneFromTheSourceLeaveItsLists(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testStore(t)
	sh := &shop{n: 6}
	srv, f := api(t, sh.serve)
	src := shopSource(t, st, srv.URL, func(in *store.SourceInput) { in.Mapping.LeaveLists = true })
	listID := src.Mapping.ListIDs[0]
	r := &Runner{Store: st, Fetcher: f, Log: quiet()}
	if run, _, err := r.Run(ctx, src.ID, time.UTC); err != nil || run.Job.Created != 5 || run.Left != 0 {
		t.Fatalf("first run: %+v, %v", run, err)
	}
	c6, _ := st.ContactByEmail(ctx, "c6@example.com")
	if err := st.SetMembership(ctx, c6.ID, listID, store.MemberUnsubscribed); err != nil {
		t.Fatal(err)
	}
	members := func() store.List {
		l, err := st.List(ctx, listID)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	// A capped run saw only part of the source: nobody leaves.
	sh.n = 3
	capped := &store.SourcePaging{Kind: "page", Size: 3, MaxPages: 1}
	if _, err := st.UpdateSource(ctx, src.ID, store.SourceInput{Paging: capped}, "owner@example.com"); err != nil {
		t.Fatal(err)
	}
	sh.n = 6
	if run, _, err := r.Run(ctx, src.ID, time.UTC); err != nil || !run.Capped || run.Left != 0 || members().Confirmed != 4 {
		t.Fatalf("capped run: %+v, %v; %d confirmed", run, err, members().Confirmed)
	}
	// c4 was never in (its address is bad); c5 and c6 are gone now.
	sh.n = 3
	if _, err := st.UpdateSource(ctx, src.ID, store.SourceInput{Paging: &store.SourcePaging{Kind: "page", Size: 3}}, "owner@example.com"); err != nil {
		t.Fatal(err)
	}
	run, _, err := r.Run(ctx, src.ID, time.UTC)
	// c5 leaves; c6's unsubscribe stays as it is, and is not counted.
	if err != nil || run.Status != store.SourceRunDone || run.Left != 1 {
		t.Fatalf("run after two went: %+v, %v", run, err)
	}
	if l := members(); l.Confirmed != 3 || l.Unsubscribed != 1 {
		t.Errorf("list after: %d confirmed, %d unsubscribed; want c1-c3, and c6 still unsubscribed", l.Confirmed, l.Unsubscribed)
	}
	if c5, err := st.ContactByEmail(ctx, "c5@example.com"); err != nil || c5.Status != "active" {
		t.Errorf("c5 leaves the list, not Herald: %+v, %v", c5, err)
	}
	// Back in the source, back in the list.
	sh.n = 6
	if run, _, err := r.Run(ctx, src.ID, time.UTC); err != nil || run.Left != 0 || members().Confirmed != 4 {
		t.Errorf("run after c5 came back: %+v, %v; %d confirmed", run, err, members().Confirmed)
	}
	// Leaving lists needs every record each run.
	since := "updated_since"
	if _, err := st.UpdateSource(ctx, src.ID, store.SourceInput{SinceParam: &since}, "owner@example.com"); !isField(err, "mapping.leave_lists") {
		t.Errorf("leave_lists with a since parameter: got %v, want it refused", err)
	}
}

func isField(err error, field string) bool {
	var ve *store.ValidationError
	return errors.As(err, &ve) && ve.Fields[field] != ""
}

// TestCredentialsStayWithTheirAddress: changing a source's address, or
// how its secret is sent, needs its credentials typed again, so nobody who
// may change a source can send them elsewhere or into an error message;
// other changes keep them.
func TestCredentialsStayWithTheirAddress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testStore(t)
	src := shopSource(t, st, "https://shop.example/api/customers", func(in *store.SourceInput) {
		in.Headers = &[]store.SourceHeader{{Name: "X-Shop", Value: "s1"}}
	})
	for name, in := range map[string]store.SourceInput{
		"another host":         {URL: new("https://attacker.example/collect")},
		"another path":         {URL: new("https://shop.example/api/echo")},
		"the key in the query": {AuthKind: new("query"), AuthName: new("k")},
	} {
		if _, err := st.UpdateSource(ctx, src.ID, in, "admin@example.com"); !isField(err, "secret") || !isField(err, "headers") {
			t.Errorf("%s keeping the credentials: got %v, want them asked for", name, err)
		}
		if _, _, err := st.CheckSourceChange(ctx, src.ID, in); !isField(err, "secret") {
			t.Errorf("testing %s: got %v, want the credentials asked for", name, err)
		}
	}
	if got, err := st.UpdateSource(ctx, src.ID, store.SourceInput{Name: new("Shop again"), Schedule: new("weekly")}, "admin@example.com"); err != nil || !got.SecretSet {
		t.Errorf("a change that keeps the address: %+v, %v", got, err)
	}
	elsewhere, token, headers := "https://attacker.example/collect", "new", []store.SourceHeader{}
	if got, err := st.UpdateSource(ctx, src.ID, store.SourceInput{URL: &elsewhere, Secret: &token, Headers: &headers}, "admin@example.com"); err != nil || got.URL != elsewhere {
		t.Errorf("a move with the credentials typed again: %+v, %v", got, err)
	}
	for _, bad := range []store.SourceHeader{{Name: "X-[a]", Value: "v"}, {Name: "Host", Value: "v"}, {Name: "X-A", Value: "\x01"}} {
		if _, err := st.UpdateSource(ctx, src.ID, store.SourceInput{Headers: &[]store.SourceHeader{bad}}, "admin@example.com"); err == nil {
			t.Errorf("header %q: %q accepted", bad.Name, bad.Value)
		}
	}
	if _, err := st.UpdateSource(ctx, src.ID, store.SourceInput{AuthKind: new("basic"), AuthName: new("shop@example.com"), Secret: new("pw")}, "admin@example.com"); err != nil {
		t.Errorf("a username with an @: %v", err)
	}
}

// TestFailingSourceRecovers: a run that fails is retried; the next that
// succeeds clears the failures and the error, and the schedule takes over.
func TestFailingSourceRecovers(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	sh := &shop{n: 3, failing: true}
	srv, f := api(t, sh.serve)
	src := shopSource(t, st, srv.URL)
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	r := &Runner{Store: st, Fetcher: f, Log: quiet(), Now: func() time.Time { return now }}
	if _, after, err := r.Run(context.Background(), src.ID, time.UTC); err != nil || after.Failures != 1 || !strings.Contains(after.LastError, "500") {
		t.Fatalf("failed run: %+v, %v", after, err)
	}
	sh.mu.Lock()
	sh.failing = false
	sh.mu.Unlock()
	now = now.Add(RetryDelay(1))
	run, after, err := r.Run(context.Background(), src.ID, time.UTC)
	if err != nil || run.Status != store.SourceRunDone || after.Failures != 0 || after.LastError != "" || !after.Enabled {
		t.Fatalf("recovered run: %+v, source %+v, %v", run, after, err)
	}
	if want := time.Date(2026, 12, 6, 6, 0, 0, 0, time.UTC); !after.NextRunAt.Equal(want) {
		t.Errorf("next run after the recovery: %v, want the schedule's %v", after.NextRunAt, want)
	}
}

// TestFieldLayoutChangesBetweenRuns: when the API renames a mapped field,
// the run goes on and says which; when it moves the field mapped to the
// email address, the run fails and says what to do, and writes nothing.
func TestFieldLayoutChangesBetweenRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testStore(t)
	layout := 1
	var mu sync.Mutex
	srv, f := api(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		var out []map[string]any
		for i := 1; i <= 2; i++ {
			email := fmt.Sprintf("c%d@example.com", i)
			switch layout {
			case 1:
				out = append(out, map[string]any{"email": email, "first": "Ann", "address": map[string]any{"city": "Paris"}})
			case 2: // first becomes first_name
				out = append(out, map[string]any{"email": email, "first_name": "Ann", "address": map[string]any{"city": "Lyon"}})
			case 3: // the email moves under contact
				out = append(out, map[string]any{"contact": map[string]any{"email": "new" + email}, "first": "Ann"})
			}
		}
		writeJSON(w, out)
	})
	src := shopSource(t, st, srv.URL, func(in *store.SourceInput) { in.Paging = &store.SourcePaging{Kind: "none"} })
	r := &Runner{Store: st, Fetcher: f, Log: quiet()}
	if run, _, err := r.Run(ctx, src.ID, time.UTC); err != nil || run.Status != store.SourceRunDone || run.Warning != "" {
		t.Fatalf("first layout: %+v, %v", run, err)
	}
	mu.Lock()
	layout = 2
	mu.Unlock()
	run, _, err := r.Run(ctx, src.ID, time.UTC)
	if err != nil || run.Status != store.SourceRunDone || !strings.Contains(run.Warning, "first") || strings.Contains(run.Warning, "address.city") {
		t.Errorf("a renamed field: %+v, %v; want done, with a warning naming first", run, err)
	}
	if c, _ := st.ContactByEmail(ctx, "c1@example.com"); c.Attributes["city"] != "Lyon" || c.FirstName != "Ann" {
		t.Errorf("contact after the rename: %+v, want the city updated and the first name kept", c)
	}
	mu.Lock()
	layout = 3
	mu.Unlock()
	run, after, err := r.Run(ctx, src.ID, time.UTC)
	if err != nil || run.Status != store.SourceRunFailed || !strings.Contains(run.Error, "no longer hold email") || after.Failures != 1 {
		t.Errorf("a moved email: %+v, %v; want it failed, saying so", run, err)
	}
	if _, err := st.ContactByEmail(ctx, "newc1@example.com"); err == nil {
		t.Error("a run that failed on its layout wrote contacts")
	}
}

// TestRunStoppedAfterItsLastPageFetchesNothingMore: a stop between the
// last page's write and the run's end leaves the run open with a cursor
// that says it is done; resumed, it ends without asking the API again.
func TestRunStoppedAfterItsLastPageFetchesNothingMore(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	sh := &shop{n: 5}
	srv, f := api(t, sh.serve)
	src := shopSource(t, st, srv.URL)
	r := &Runner{Store: st, Fetcher: f, Log: quiet()}
	run, _, err := r.Run(context.Background(), src.ID, time.UTC)
	if err != nil || run.Status != store.SourceRunDone {
		t.Fatalf("run: %+v, %v", run, err)
	}
	// As a kill -9 leaves it: the last page written, the run not ended.
	db, err := sql.Open("sqlite3", "file:"+st.Path()+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE source_runs SET status = 'running', finished_at = NULL; UPDATE import_jobs SET status = 'running'`); err != nil {
		t.Fatal(err)
	}
	asked := len(sh.asked)
	again, _, err := r.Run(context.Background(), src.ID, time.UTC)
	if err != nil || again.ID != run.ID || again.Status != store.SourceRunDone || again.Job.Created != 4 || again.Job.Updated != 0 {
		t.Errorf("resumed: %+v, %v; want the same run ended, nobody written twice", again, err)
	}
	if len(sh.asked) != asked {
		t.Errorf("pages asked after the resume: %v, want none", sh.asked[asked:])
	}
}

// TestLeavingListsSparesWhoTheSourceDidNotBring: a contact already on the
// source's list before the source brought them (signed up by a form) stays
// when the source no longer has them; and when a run has invalid records,
// nobody leaves, as one of them may be a contact still there.
func TestLeavingListsSparesWhoTheSourceDidNotBring(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testStore(t)
	sh := &shop{n: 3}
	srv, f := api(t, sh.serve)
	src := shopSource(t, st, srv.URL, func(in *store.SourceInput) { in.Mapping.LeaveLists = true })
	listID := src.Mapping.ListIDs[0]
	form := "c2@example.com"
	if _, _, err := st.CreateContact(ctx, store.ContactInput{Email: &form, Lists: []int64{listID}, Source: "form"}, false); err != nil {
		t.Fatal(err)
	}
	r := &Runner{Store: st, Fetcher: f, Log: quiet()}
	if _, _, err := r.Run(ctx, src.ID, time.UTC); err != nil {
		t.Fatal(err)
	}
	// c3 and c2 are gone from the shop; c4 is there but invalid.
	sh.mu.Lock()
	sh.n = 4
	sh.mu.Unlock()
	run, _, err := r.Run(ctx, src.ID, time.UTC)
	if err != nil || run.Left != 0 || !strings.Contains(run.Warning, "invalid") {
		t.Errorf("a run with an invalid record: %+v, %v; want nobody out, and why", run, err)
	}
	sh.mu.Lock()
	sh.n = 1
	sh.mu.Unlock()
	if run, _, err = r.Run(ctx, src.ID, time.UTC); err != nil || run.Left != 1 {
		t.Errorf("a run without c2 and c3: %+v, %v; want c3 out, who the source brought", run, err)
	}
	l, _ := st.List(ctx, listID)
	if l.Confirmed != 2 {
		t.Errorf("list after: %d confirmed, want c1 and c2 (who signed up by a form)", l.Confirmed)
	}
}

// TestRunNowDuringARunStands: "Run now" while a run goes, and a schedule
// changed meanwhile, both hold when it ends.
func TestRunNowDuringARunStands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testStore(t)
	sh := &shop{n: 2}
	srv, f := api(t, sh.serve)
	src := shopSource(t, st, srv.URL)
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	r := &Runner{Store: st, Fetcher: f, Log: quiet(), Now: func() time.Time { return now }}
	inner := f.Client.Transport
	f.Client.Transport = roundTrip(func(req *http.Request) (*http.Response, error) {
		if err := st.RunSourceNow(ctx, src.ID); err != nil { // asked while the run goes
			t.Error(err)
		}
		return inner.RoundTrip(req)
	})
	_, after, err := r.Run(ctx, src.ID, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if after.NextRunAt.After(time.Now()) {
		t.Errorf("next run after a Run now during the run: %v, want at once", after.NextRunAt)
	}
	f.Client.Transport = roundTrip(func(req *http.Request) (*http.Response, error) {
		if _, err := st.UpdateSource(ctx, src.ID, store.SourceInput{Schedule: new("hourly"), AtMinute: new(30)}, "owner"); err != nil {
			t.Error(err)
		}
		return inner.RoundTrip(req)
	})
	if _, after, err = r.Run(ctx, src.ID, time.UTC); err != nil || !after.NextRunAt.Equal(time.Date(2026, 12, 5, 10, 30, 0, 0, time.UTC)) {
		t.Errorf("next run after the schedule changed during the run: %v, %v; want 10:30 on the new hourly schedule", after.NextRunAt, err)
	}
}

// TestEditsKeepTheFailureCount: a failed run's count stands through an
// edit; only enabling a disabled source clears it.
func TestEditsKeepTheFailureCount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testStore(t)
	sh := &shop{n: 2, failing: true}
	srv, f := api(t, sh.serve)
	src := shopSource(t, st, srv.URL)
	r := &Runner{Store: st, Fetcher: f, Log: quiet()}
	if _, _, err := r.Run(ctx, src.ID, time.UTC); err != nil {
		t.Fatal(err)
	}
	got, err := st.UpdateSource(ctx, src.ID, store.SourceInput{Name: new("Renamed")}, "owner")
	if err != nil || got.Failures != 1 {
		t.Errorf("after an edit: %d failures, %v; want 1", got.Failures, err)
	}
	if got, err = st.UpdateSource(ctx, src.ID, store.SourceInput{Schedule: new("hourly")}, "owner"); err != nil || got.AtMinute != 0 {
		t.Errorf("made hourly without a minute: %+v, %v; want minute 0 of the hour (06:00's)", got, err)
	}
	if got, _ = st.UpdateSource(ctx, src.ID, store.SourceInput{Enabled: new(false)}, "owner"); got.Failures != 1 {
		t.Errorf("disabled: %d failures, want 1", got.Failures)
	}
	if got, _ = st.UpdateSource(ctx, src.ID, store.SourceInput{Enabled: new(true)}, "owner"); got.Failures != 0 {
		t.Errorf("enabled again: %d failures, want 0", got.Failures)
	}
}

// TestCappedRunKeepsItsSince: a run stopped at its cap says so, and the
// next asks again for what changed since the last complete run.
func TestCappedRunKeepsItsSince(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testStore(t)
	sh := &shop{n: 9}
	srv, f := api(t, sh.serve)
	src := shopSource(t, st, srv.URL, func(in *store.SourceInput) {
		in.SinceParam = new("updated_since")
		in.Paging = &store.SourcePaging{Kind: "page", Size: 3, MaxPages: 2}
	})
	r := &Runner{Store: st, Fetcher: f, Log: quiet()}
	run, after, err := r.Run(ctx, src.ID, time.UTC)
	if err != nil || !run.Capped || run.Status != store.SourceRunDone || !strings.Contains(run.Warning, "cap") || !after.LastSuccessAt.IsZero() {
		t.Errorf("capped run: %+v, source %+v, %v; want done with a warning, and no last success", run, after, err)
	}
}

// TestARunsImportIsItsSources: a running source's import cannot be stopped
// from Contacts → Import (its source stops it), and deleting the source
// ends it.
func TestARunsImportIsItsSources(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testStore(t)
	src := shopSource(t, st, "https://shop.example/customers")
	run, _, err := st.StartSourceRun(ctx, src.ID, "{}")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CancelImport(ctx, run.Job.ID); !errors.Is(err, store.ErrConflict) {
		t.Errorf("stopping a source's import: %v, want a conflict", err)
	}
	if err := st.DeleteSource(ctx, src.ID); err != nil {
		t.Fatal(err)
	}
	if j, err := st.Import(ctx, run.Job.ID); err != nil || j.Status != store.ImportCancelled {
		t.Errorf("the run's import after its source went: %+v, %v; want cancelled", j, err)
	}
}

// TestRunStopsAtItsCapOnTime: a run still fetching after its time is up
// stops after the page it has, as at its cap on pages, and says so.
func TestRunStopsAtItsCapOnTime(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	sh := &shop{n: 9}
	srv, f := api(t, sh.serve)
	src := shopSource(t, st, srv.URL)
	start := time.Now()
	pages := 0
	r := &Runner{Store: st, Fetcher: f, Log: quiet(), MaxTime: time.Hour,
		Now: func() time.Time { return start.Add(time.Duration(pages) * 40 * time.Minute) }}
	inner := f.Client.Transport
	f.Client.Transport = roundTrip(func(req *http.Request) (*http.Response, error) {
		pages++ // each page takes 40 minutes
		return inner.RoundTrip(req)
	})
	run, _, err := r.Run(context.Background(), src.ID, time.UTC)
	if err != nil || run.Status != store.SourceRunDone || !run.Capped || run.Pages != 2 || !strings.Contains(run.Warning, "time") {
		t.Errorf("a run out of time: %+v, %v; want it done after 2 pages, capped, saying so", run, err)
	}
}

// TestRedactMasksCredentialsAsTheyTravel: a secret is masked as written,
// as a query or a path holds it, in base64, and for basic auth as the
// Authorization header holds it with its username.
func TestRedactMasksCredentialsAsTheyTravel(t *testing.T) {
	t.Parallel()
	src := store.Source{AuthKind: "basic", AuthName: "shopuser"}
	sec := store.SourceSecret{Secret: "k/ey+Secret=1", Headers: []store.SourceHeader{{Name: "X-Shop", Value: "hdr-value-9"}}}
	msg := `401 {"auth":"Basic c2hvcHVzZXI6ay9leStTZWNyZXQ9MQ==","echo":"api_key=k%2Fey%2BSecret%3D1","raw":"k/ey+Secret=1","h":"hdr-value-9"}`
	got := Redact(msg, src, sec)
	for _, leak := range []string{"c2hvcHVzZXI6ay9leStTZWNyZXQ9MQ", "k%2Fey%2BSecret%3D1", "k/ey+Secret=1", "hdr-value-9"} {
		if strings.Contains(got, leak) {
			t.Errorf("%q left in %s", leak, got)
		}
	}
	if !strings.Contains(got, "401") {
		t.Errorf("the rest of the message went too: %s", got)
	}
}

// TestLeavingListsNeedsAFullAnswer: a run that brings no records takes
// nobody out of the lists, and one that would take most of the source's
// contacts out at once does so only when the next complete run agrees.
func TestLeavingListsNeedsAFullAnswer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testStore(t)
	var mu sync.Mutex
	n := 20
	srv, f := api(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		out := []map[string]any{}
		for i := 1; i <= n; i++ {
			out = append(out, map[string]any{"email": fmt.Sprintf("m%d@example.com", i)})
		}
		writeJSON(w, map[string]any{"data": out})
	})
	src := shopSource(t, st, srv.URL, func(in *store.SourceInput) {
		in.Paging, in.Mapping.LeaveLists = &store.SourcePaging{Kind: "none"}, true
		in.Mapping.Fields = []store.SourceField{{Path: "email", Target: "email"}}
	})
	r := &Runner{Store: st, Fetcher: f, Log: quiet()}
	members := func() int {
		l, _ := st.List(ctx, src.Mapping.ListIDs[0])
		return l.Confirmed
	}
	runWith := func(records int) store.SourceRun {
		mu.Lock()
		n = records
		mu.Unlock()
		run, _, err := r.Run(ctx, src.ID, time.UTC)
		if err != nil || run.Status != store.SourceRunDone {
			t.Fatalf("run of %d: %+v, %v", records, run, err)
		}
		return run
	}
	runWith(20)
	if run := runWith(0); run.Left != 0 || members() != 20 || !strings.Contains(run.Warning, "no records") {
		t.Errorf("an empty answer: left %d, %d members, %q; want nobody out, and why", run.Left, members(), run.Warning)
	}
	if run := runWith(5); run.Left != 0 || members() != 20 || !strings.HasPrefix(run.Warning, "Held back") {
		t.Errorf("15 of 20 gone at once: left %d, %d members, %q; want them held back", run.Left, members(), run.Warning)
	}
	if run := runWith(5); run.Left != 15 || members() != 5 {
		t.Errorf("the next run agreeing: left %d, %d members; want 15 out", run.Left, members())
	}
}

// TestCappedRunsReadTheSourceOverSeveral: a run stopped at its cap on
// pages hands on where it stopped; the next goes on from there, and once
// the source is read to its end, changes are asked for from the start of
// the first of those runs.
func TestCappedRunsReadTheSourceOverSeveral(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testStore(t)
	sh := &shop{n: 9}
	srv, f := api(t, sh.serve)
	src := shopSource(t, st, srv.URL, func(in *store.SourceInput) {
		in.Paging = &store.SourcePaging{Kind: "page", Size: 3, MaxPages: 2}
	})
	r := &Runner{Store: st, Fetcher: f, Log: quiet()}
	first, after, err := r.Run(ctx, src.ID, time.UTC)
	if err != nil || !first.Capped || first.Fetched != 6 || !after.LastSuccessAt.IsZero() {
		t.Fatalf("first run: %+v, %+v, %v", first, after, err)
	}
	second, after, err := r.Run(ctx, src.ID, time.UTC)
	if err != nil || second.Capped || second.Fetched != 3 || second.Status != store.SourceRunDone {
		t.Fatalf("second run: %+v, %v; want the last 3 records and the end", second, err)
	}
	if !after.LastSuccessAt.Equal(first.StartedAt) {
		t.Errorf("last success: %v, want the first run's start %v", after.LastSuccessAt, first.StartedAt)
	}
	if fmt.Sprint(sh.asked) != "[1 2 3 4]" {
		t.Errorf("pages asked: %v, want each once", sh.asked)
	}
	third, _, err := r.Run(ctx, src.ID, time.UTC)
	if err != nil || third.Fetched != 6 || !third.Capped {
		t.Errorf("third run: %+v, %v; want a fresh start from page 1", third, err)
	}
}

// TestStatusErrorsMaskBeforeTheyCut: a credential an API echoes in its
// error answer is masked before the answer is cut short, and in its JSON
// and PHP escapings too.
func TestStatusErrorsMaskBeforeTheyCut(t *testing.T) {
	t.Parallel()
	token := "sk_live_ABCDEFGHIJKLMNOP<&>/x"
	spec := Spec{Auth: Auth{Kind: "bearer", Token: token}}
	resp := &http.Response{Status: "401 Unauthorized", StatusCode: http.StatusUnauthorized}
	for _, body := range []string{
		strings.Repeat("x", 190) + " bad key Bearer " + token,
		`{"error":"bad key","key":"sk_live_ABCDEFGHIJKLMNOP\u003c\u0026\u003e/x"}`,
		`{"error":"bad key","key":"sk_live_ABCDEFGHIJKLMNOP<&>\/x"}`,
	} {
		msg := statusError(spec, resp, []byte(body)).Error()
		if strings.Contains(msg, "sk_l") {
			t.Errorf("the token, or part of it, in %q", msg)
		}
	}
}

// listShop serves the addresses it holds, size a page by page and
// per_page; it can refuse cursors, as an API whose cursors expire does.
type listShop struct {
	mu     sync.Mutex
	emails []string
}

func (s *listShop) set(emails ...string) {
	s.mu.Lock()
	s.emails = emails
	s.mu.Unlock()
}

func (s *listShop) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	size, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	out := []map[string]any{}
	for i := (page - 1) * size; i >= 0 && i < min(page*size, len(s.emails)); i++ {
		out = append(out, map[string]any{"email": s.emails[i]})
	}
	writeJSON(w, map[string]any{"data": out})
}

func addresses(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("m%d@example.com", i))
	}
	return out
}

// TestLeavingListsOverSeveralRuns: runs that read a source to its end over
// several count as one: one whose last run brought only the empty closing
// page still takes out who is gone, one with an invalid record in an
// earlier run takes nobody out, and after a run held back, only who both
// runs missed leaves.
func TestLeavingListsOverSeveralRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testStore(t)
	sh := &listShop{}
	srv, f := api(t, sh.serve)
	src := shopSource(t, st, srv.URL, func(in *store.SourceInput) {
		in.Paging, in.Mapping.LeaveLists = &store.SourcePaging{Kind: "page", Size: 3}, true
		in.Mapping.Fields = []store.SourceField{{Path: "email", Target: "email"}}
	})
	r := &Runner{Store: st, Fetcher: f, Log: quiet()}
	members := func() int {
		l, _ := st.List(ctx, src.Mapping.ListIDs[0])
		return l.Confirmed
	}
	run := func() store.SourceRun {
		run, _, err := r.Run(ctx, src.ID, time.UTC)
		if err != nil || run.Status != store.SourceRunDone {
			t.Fatalf("run: %+v, %v", run, err)
		}
		return run
	}
	sh.set(addresses(1, 8)...)
	run()
	if _, err := st.UpdateSource(ctx, src.ID, store.SourceInput{Paging: &store.SourcePaging{Kind: "page", Size: 3, MaxPages: 2}}, "owner"); err != nil {
		t.Fatal(err)
	}
	// Six left: two full pages, then a run of the empty page alone.
	sh.set(addresses(1, 6)...)
	if first := run(); !first.Capped {
		t.Fatalf("first of the chain: %+v", first)
	}
	if last := run(); last.Fetched != 0 || last.Left != 2 || members() != 6 {
		t.Errorf("the chain's end on an empty page: fetched %d, left %d, %d members; want m7 and m8 out", last.Fetched, last.Left, members())
	}
	// An invalid record in the chain's first run: nobody leaves.
	sh.set(append([]string{"m1 at example.com"}, addresses(2, 5)...)...)
	run()
	if last := run(); last.Left != 0 || members() != 6 || !strings.Contains(last.Warning, "invalid") {
		t.Errorf("a chain with an invalid record: left %d, %d members, %q; want nobody out", last.Left, members(), last.Warning)
	}
}

// TestHeldBackTakesOutOnlyWhoBothRunsMissed: after a run held back, the
// next takes out only the contacts neither run had.
func TestHeldBackTakesOutOnlyWhoBothRunsMissed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testStore(t)
	sh := &listShop{}
	srv, f := api(t, sh.serve)
	src := shopSource(t, st, srv.URL, func(in *store.SourceInput) {
		in.Paging, in.Mapping.LeaveLists = &store.SourcePaging{Kind: "page", Size: 100}, true
		in.Mapping.Fields = []store.SourceField{{Path: "email", Target: "email"}}
	})
	r := &Runner{Store: st, Fetcher: f, Log: quiet()}
	for _, part := range [][]string{addresses(1, 20), addresses(1, 5), addresses(6, 10)} {
		sh.set(part...)
		if _, _, err := r.Run(ctx, src.ID, time.UTC); err != nil {
			t.Fatal(err)
		}
	}
	l, _ := st.List(ctx, src.Mapping.ListIDs[0])
	if l.Confirmed != 10 {
		t.Errorf("after 20, then 1-5 (held back), then 6-10: %d members, want m1-m10 (only m11-m20 missed by both)", l.Confirmed)
	}
}

// TestFailedRunStartsAfresh: a run that goes on from a remote cursor the
// API no longer takes fails once; the next starts from the first page.
func TestFailedRunStartsAfresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testStore(t)
	var mu sync.Mutex
	expired := false
	srv, f := api(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		after := r.URL.Query().Get("cursor")
		if after != "" && expired {
			http.Error(w, "cursor expired", http.StatusBadRequest)
			return
		}
		n, _ := strconv.Atoi(strings.TrimPrefix(after, "t"))
		body := map[string]any{"data": []map[string]any{{"email": fmt.Sprintf("m%d@example.com", n+1)}}}
		if n < 3 {
			body["next"] = fmt.Sprintf("t%d", n+1)
		}
		writeJSON(w, body)
	})
	src := shopSource(t, st, srv.URL, func(in *store.SourceInput) {
		in.Paging = &store.SourcePaging{Kind: "cursor", CursorField: "next", MaxPages: 1}
		in.Mapping.Fields = []store.SourceField{{Path: "email", Target: "email"}}
	})
	r := &Runner{Store: st, Fetcher: f, Log: quiet()}
	if run, _, err := r.Run(ctx, src.ID, time.UTC); err != nil || !run.Capped {
		t.Fatalf("first run: %+v, %v", run, err)
	}
	mu.Lock()
	expired = true
	mu.Unlock()
	if run, _, err := r.Run(ctx, src.ID, time.UTC); err != nil || run.Status != store.SourceRunFailed {
		t.Fatalf("run on an expired cursor: %+v, %v; want it failed", run, err)
	}
	if run, _, err := r.Run(ctx, src.ID, time.UTC); err != nil || run.Status != store.SourceRunDone || run.Fetched != 1 {
		t.Errorf("the run after: %+v, %v; want it afresh from the first page", run, err)
	}
}

// TestRecordsWithoutTheirFieldsAreInvalid: records that come back with
// every mapped field null count as invalid, so nobody leaves the lists.
func TestRecordsWithoutTheirFieldsAreInvalid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testStore(t)
	var mu sync.Mutex
	hidden := false
	srv, f := api(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		out := []map[string]any{}
		for i := 1; i <= 30; i++ {
			var email any = fmt.Sprintf("m%d@example.com", i)
			if hidden {
				email = nil // as a shop that lost access to personal data answers
			}
			out = append(out, map[string]any{"id": i, "email": email})
		}
		writeJSON(w, map[string]any{"data": out})
	})
	src := shopSource(t, st, srv.URL, func(in *store.SourceInput) {
		in.Paging, in.Mapping.LeaveLists = &store.SourcePaging{Kind: "none"}, true
		in.Mapping.Fields = []store.SourceField{{Path: "email", Target: "email"}}
	})
	r := &Runner{Store: st, Fetcher: f, Log: quiet()}
	if _, _, err := r.Run(ctx, src.ID, time.UTC); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	hidden = true
	mu.Unlock()
	for range 2 {
		run, _, err := r.Run(ctx, src.ID, time.UTC)
		if err != nil || run.Job.Invalid != 30 || run.Left != 0 {
			t.Errorf("records without their email: %+v, %v; want 30 invalid and nobody out", run, err)
		}
	}
	if l, _ := st.List(ctx, src.Mapping.ListIDs[0]); l.Confirmed != 30 {
		t.Errorf("members: %d, want all 30", l.Confirmed)
	}
}

// TestAListAddedLaterSparesItsOwnMembers: a contact who joined a list by
// themselves, which the source then feeds too, leaves only the list the
// source brought them to.
func TestAListAddedLaterSparesItsOwnMembers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testStore(t)
	sh := &listShop{}
	srv, f := api(t, sh.serve)
	src := shopSource(t, st, srv.URL, func(in *store.SourceInput) {
		in.Paging, in.Mapping.LeaveLists = &store.SourcePaging{Kind: "page", Size: 100}, true
		in.Mapping.Fields = []store.SourceField{{Path: "email", Target: "email"}}
	})
	r := &Runner{Store: st, Fetcher: f, Log: quiet()}
	sh.set(addresses(1, 5)...)
	if _, _, err := r.Run(ctx, src.ID, time.UTC); err != nil {
		t.Fatal(err)
	}
	news, err := st.CreateList(ctx, store.ListInput{Name: new("Newsletter")})
	if err != nil {
		t.Fatal(err)
	}
	m1, _ := st.ContactByEmail(ctx, "m1@example.com")
	if err := st.SetMembership(ctx, m1.ID, news.ID, store.MemberConfirmed); err != nil {
		t.Fatal(err)
	}
	mapping := src.Mapping
	mapping.ListIDs = append(mapping.ListIDs, news.ID)
	if _, err := st.UpdateSource(ctx, src.ID, store.SourceInput{Mapping: &mapping}, "owner"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Run(ctx, src.ID, time.UTC); err != nil {
		t.Fatal(err)
	}
	sh.set(addresses(2, 5)...)
	run, _, err := r.Run(ctx, src.ID, time.UTC)
	if err != nil || run.Left != 1 {
		t.Fatalf("m1 gone: %+v, %v", run, err)
	}
	first, _ := st.List(ctx, src.Mapping.ListIDs[0])
	newsletter, _ := st.List(ctx, news.ID)
	if first.Confirmed != 4 || newsletter.Confirmed != 5 {
		t.Errorf("after m1 went: %d on the source's first list (want 4), %d on Newsletter (want 5: m1 joined it by themselves)", first.Confirmed, newsletter.Confirmed)
	}
}

// TestLeavingListsTracksOnlyWhoTheSourceBrought: in create mode, a contact
// the import skipped was not brought to the list, and later leaves no list
// they joined by themselves; turning the option on in the middle of a
// reading over several runs takes nobody out.
func TestLeavingListsTracksOnlyWhoTheSourceBrought(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testStore(t)
	m1 := "m1@example.com"
	if _, _, err := st.CreateContact(ctx, store.ContactInput{Email: &m1, Source: "form"}, false); err != nil {
		t.Fatal(err)
	}
	sh := &listShop{}
	srv, f := api(t, sh.serve)
	src := shopSource(t, st, srv.URL, func(in *store.SourceInput) {
		in.Paging, in.Mapping.LeaveLists, in.Mapping.Mode = &store.SourcePaging{Kind: "page", Size: 3}, true, store.ImportCreate
		in.Mapping.Fields = []store.SourceField{{Path: "email", Target: "email"}}
	})
	list := src.Mapping.ListIDs[0]
	r := &Runner{Store: st, Fetcher: f, Log: quiet()}
	run := func() store.SourceRun {
		run, _, err := r.Run(ctx, src.ID, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		return run
	}
	sh.set(addresses(1, 6)...)
	run()
	c1, _ := st.ContactByEmail(ctx, m1)
	if err := st.SetMembership(ctx, c1.ID, list, store.MemberConfirmed); err != nil { // by a form, later
		t.Fatal(err)
	}
	sh.set(addresses(2, 6)...)
	if got := run(); got.Left != 0 {
		t.Errorf("m1, skipped by the import, gone from the source: left %d, want 0", got.Left)
	}
	// The option off, a capped run, the option on, and the reading ends.
	off, on := src.Mapping, src.Mapping
	off.LeaveLists = false
	if _, err := st.UpdateSource(ctx, src.ID, store.SourceInput{Mapping: &off, Paging: &store.SourcePaging{Kind: "page", Size: 3, MaxPages: 1}}, "owner"); err != nil {
		t.Fatal(err)
	}
	if got := run(); !got.Capped {
		t.Fatalf("capped run: %+v", got)
	}
	if _, err := st.UpdateSource(ctx, src.ID, store.SourceInput{Mapping: &on}, "owner"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		run()
	}
	if l, _ := st.List(ctx, list); l.Confirmed != 6 {
		t.Errorf("after the option went off and on: %d members, want all 6", l.Confirmed)
	}
}
