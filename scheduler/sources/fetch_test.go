package sources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"herald/scheduler/netguard"
)

// customers is a remote API's customers, ids 1 to n.
func customers(n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"id": i + 1, "email": fmt.Sprintf("c%d@example.com", i+1), "address": map[string]any{"city": "Paris"}}
	}
	return out
}

// api serves handler over TLS on loopback, and a fetcher that trusts it.
func api(t testing.TB, handler http.HandlerFunc) (*httptest.Server, *Fetcher) {
	t.Helper()
	srv := httptest.NewTLSServer(handler)
	t.Cleanup(srv.Close)
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return srv, &Fetcher{Client: client, Sleep: func(context.Context, time.Duration) error { return nil }}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// walkIDs walks a source and returns the ids it found, and its last page.
func walkIDs(t *testing.T, f *Fetcher, spec Spec) ([]string, Page, error) {
	t.Helper()
	var ids []string
	var last Page
	err := f.Walk(context.Background(), spec, First(spec.Paging), func(p Page) error {
		for _, r := range p.Records {
			ids = append(ids, Text(r["id"]))
		}
		last = p
		return nil
	})
	return ids, last, err
}

func TestPagingStyles(t *testing.T) {
	t.Parallel()
	all := customers(7)
	srv, f := api(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		num := func(k string, def int) int {
			if n, err := strconv.Atoi(q.Get(k)); err == nil {
				return n
			}
			return def
		}
		switch r.URL.Path {
		case "/page":
			size := num("per_page", 0)
			from := (num("page", 1) - 1) * size
			writeJSON(w, map[string]any{"data": all[min(from, 7):min(from+size, 7)]})
		case "/offset":
			from, size := num("skip", 0), num("take", 0)
			writeJSON(w, all[min(from, 7):min(from+size, 7)])
		case "/cursor":
			from := num("after", 0)
			body := map[string]any{"payload": map[string]any{"customers": all[from:min(from+3, 7)]}}
			if from+3 < 7 {
				body["meta"] = map[string]any{"next": strconv.Itoa(from + 3)}
			}
			writeJSON(w, body)
		case "/link":
			from := num("from", 0)
			if from+3 < 7 {
				w.Header().Add("Link", fmt.Sprintf(`</first>; rel="first", </link?from=%d>; rel="next"`, from+3))
			}
			writeJSON(w, map[string]any{"results": all[from:min(from+3, 7)]})
		case "/one":
			writeJSON(w, all[0])
		case "/capped":
			// Never more than 2 a page, whatever is asked.
			size := min(num("per_page", 0), 2)
			from := (num("page", 1) - 1) * size
			writeJSON(w, all[min(from, 7):min(from+size, 7)])
		case "/unpaged":
			writeJSON(w, all[:4]) // the same records, whatever the page

		}
	})
	want := "1 2 3 4 5 6 7"
	for _, c := range []struct {
		name  string
		spec  Spec
		pages int
	}{
		// Page and offset paging end on an empty page, as an API may answer
		// fewer than asked for.
		{"page and per_page under data", Spec{URL: srv.URL + "/page", Paging: Paging{Kind: PagingPage, Size: 3}}, 4},
		{"offset and limit, named", Spec{URL: srv.URL + "/offset", Paging: Paging{Kind: PagingOffset, PageParam: "skip", SizeParam: "take", Size: 2}}, 5},
		{"a cursor in the body, records at a path", Spec{URL: srv.URL + "/cursor", RecordsPath: "payload.customers",
			Paging: Paging{Kind: PagingCursor, CursorField: "meta.next", CursorParam: "after"}}, 3},
		{"a Link header", Spec{URL: srv.URL + "/link", Paging: Paging{Kind: PagingLink}}, 3},
	} {
		ids, last, err := walkIDs(t, f, c.spec)
		if err != nil || strings.Join(ids, " ") != want || last.Next.Pages != c.pages || last.Capped {
			t.Errorf("%s: got %v in %d pages (capped %v), %v; want %s in %d", c.name, ids, last.Next.Pages, last.Capped, err, want, c.pages)
		}
	}
	if ids, _, err := walkIDs(t, f, Spec{URL: srv.URL + "/one"}); err != nil || strings.Join(ids, " ") != "1" {
		t.Errorf("a single object: got %v, %v", ids, err)
	}
	// An API that caps its pages below the size asked is walked to its end;
	// one that ignores the paging stops at the first page it repeats.
	if ids, _, err := walkIDs(t, f, Spec{URL: srv.URL + "/capped", Paging: Paging{Kind: PagingPage, Size: 100}}); err != nil || strings.Join(ids, " ") != want {
		t.Errorf("pages capped by the API: got %v, %v; want all 7", ids, err)
	}
	if ids, last, err := walkIDs(t, f, Spec{URL: srv.URL + "/unpaged", Paging: Paging{Kind: PagingPage, Size: 100}}); err != nil || strings.Join(ids, " ") != "1 2 3 4" || !last.Repeated {
		t.Errorf("an API that does not page: got %v (repeated %v), %v; want the four once", ids, last.Repeated, err)
	}
	// Caps: pages, then records.
	if ids, last, err := walkIDs(t, f, Spec{URL: srv.URL + "/page", Paging: Paging{Kind: PagingPage, Size: 2, MaxPages: 2}}); err != nil || len(ids) != 4 || !last.Capped {
		t.Errorf("two pages at most: got %v (capped %v), %v", ids, last.Capped, err)
	}
	if ids, last, err := walkIDs(t, f, Spec{URL: srv.URL + "/page", MaxRecords: 5, Paging: Paging{Kind: PagingPage, Size: 3}}); err != nil || strings.Join(ids, " ") != "1 2 3 4 5" || !last.Capped {
		t.Errorf("five records at most: got %v (capped %v), %v", ids, last.Capped, err)
	}
}

func TestCredentialsAndParameters(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	srv, f := api(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		user, pass, _ := r.BasicAuth()
		got = append(got, strings.Join([]string{r.Header.Get("Authorization"), user + ":" + pass, r.Header.Get("X-Api-Key"),
			r.URL.Query().Get("key"), r.Header.Get("X-Shop"), r.URL.Query().Get("updated_since")}, "|"))
		mu.Unlock()
		writeJSON(w, []any{})
	})
	since := time.Date(2026, 11, 30, 8, 0, 0, 0, time.FixedZone("CET", 3600))
	for _, a := range []Auth{{Kind: "bearer", Token: "tok"}, {Kind: "basic", Username: "u", Password: "p w"},
		{Kind: "header", Name: "X-Api-Key", Value: "k1"}, {Kind: "query", Name: "key", Value: "k2"}} {
		if _, err := f.Fetch(context.Background(), Spec{URL: srv.URL, Auth: a, Headers: []Header{{"X-Shop", "bakery"}},
			SinceParam: "updated_since", Since: since}, Cursor{}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"Bearer tok|:|||bakery|2026-11-30T07:00:00Z",
		"Basic dTpwIHc=|u:p w|||bakery|2026-11-30T07:00:00Z",
		"|:|k1||bakery|2026-11-30T07:00:00Z",
		"|:||k2|bakery|2026-11-30T07:00:00Z",
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d: got %q, want %q", i, got[i], want[i])
		}
	}
}

func TestFailuresSayWhatHappened(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	tooMany := 0
	srv, f := api(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/busy":
			mu.Lock()
			tooMany++
			n := tooMany
			mu.Unlock()
			if n <= 2 {
				w.Header().Set("Retry-After", "7")
				http.Error(w, "slow down", http.StatusTooManyRequests)
				return
			}
			writeJSON(w, customers(1))
		case "/always-busy":
			w.Header().Set("Retry-After", "3")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case "/busy-for-long":
			w.Header().Set("Retry-After", "3600")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case "/broken":
			http.Error(w, "internal error", http.StatusInternalServerError)
		case "/private":
			http.Error(w, `{"error":"bad token"}`, http.StatusUnauthorized)
		case "/moved":
			http.Redirect(w, r, "https://10.0.0.1/api", http.StatusFound)
		case "/huge":
			writeJSON(w, map[string]any{"data": strings.Repeat("x", 2<<20)})
		case "/not-json":
			w.Write([]byte("<html>Shop</html>"))
		case "/numbers":
			w.Write([]byte(`[{"id": 1}, 2]`))
		case "/escape":
			w.Header().Set("Link", `<https://elsewhere.example/steal>; rel="next"`)
			writeJSON(w, customers(1))
		}
	})
	var waited []time.Duration
	f.Sleep = func(_ context.Context, d time.Duration) error {
		mu.Lock()
		waited = append(waited, d)
		mu.Unlock()
		return nil
	}
	f.MaxBody = 1 << 20
	ctx := context.Background()
	if p, err := f.Fetch(ctx, Spec{URL: srv.URL + "/busy"}, Cursor{}); err != nil || len(p.Records) != 1 || fmt.Sprint(waited) != "[7s 7s]" {
		t.Errorf("429 twice, then an answer: got %v after waiting %v", err, waited)
	}
	var later *RetryLater
	if _, err := f.Fetch(ctx, Spec{URL: srv.URL + "/always-busy"}, Cursor{}); !errors.As(err, &later) || later.Wait != 3*time.Second {
		t.Errorf("429 every time: got %v, want a RetryLater after 3s", err)
	}
	if _, err := f.Fetch(ctx, Spec{URL: srv.URL + "/busy-for-long"}, Cursor{}); !errors.As(err, &later) || later.Wait != time.Hour {
		t.Errorf("429 for an hour: got %v, want a RetryLater without waiting here", err)
	}
	for path, want := range map[string]string{
		"/broken":   "500 Internal Server Error",
		"/private":  "check the source's credentials",
		"/moved":    `moved to https://10.0.0.1/api;`,
		"/huge":     "over 1 MB",
		"/not-json": "not JSON",
		"/numbers":  "record 2 is a number, not an object",
	} {
		if _, err := f.Fetch(ctx, Spec{URL: srv.URL + path}, Cursor{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want it to say %q", path, err, want)
		}
	}
	err := f.Walk(ctx, Spec{URL: srv.URL + "/escape", Paging: Paging{Kind: PagingLink}, Auth: Auth{Kind: "bearer", Token: "secret"}}, Cursor{}, func(Page) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "is not on") {
		t.Errorf("a next link to another host: got %v, want it refused, credentials and all", err)
	}
	if _, err := f.Fetch(ctx, Spec{URL: strings.Replace(srv.URL, "https:", "http:", 1)}, Cursor{}); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("plain http: got %v, want it refused", err)
	}
}

// TestSlowAPITimesOut: an API slower than the client's timeout fails the
// page in plain words, and no error repeats the URL, whose query may hold
// the key.
func TestSlowAPITimesOut(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv, f := api(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	f.Client.Timeout = 200 * time.Millisecond
	spec := Spec{URL: srv.URL + "/customers", Auth: Auth{Kind: "query", Name: "api_key", Token: "sekret-key"}}
	_, err := f.Fetch(context.Background(), spec, Cursor{})
	if err == nil || !strings.Contains(err.Error(), "did not answer within 200ms") || strings.Contains(err.Error(), "sekret") {
		t.Errorf("a slow API: got %v, want it to say it did not answer, without the key", err)
	}
	srv.Close()
	if _, err := f.Fetch(context.Background(), spec, Cursor{}); err == nil || !strings.Contains(err.Error(), "could not be reached") || strings.Contains(err.Error(), "sekret") {
		t.Errorf("an API that is gone: got %v, want it to say so, without the key", err)
	}
}

// TestGuardRefusesPrivateAddresses: through the guard's client, a source
// on loopback, or named by a host that resolves there, is never asked.
func TestGuardRefusesPrivateAddresses(t *testing.T) {
	t.Parallel()
	asked := false
	srv, _ := api(t, func(w http.ResponseWriter, r *http.Request) { asked = true })
	g := &netguard.Guard{Resolver: fakeResolver{"shop.example": netip.MustParseAddr("127.0.0.1")}}
	f := &Fetcher{Client: g.Client(5*time.Second, 1)}
	port := srv.URL[strings.LastIndexByte(srv.URL, ':'):]
	for _, u := range []string{srv.URL, "https://shop.example" + port} {
		if _, err := f.Fetch(context.Background(), Spec{URL: u}, Cursor{}); err == nil || !errors.Is(err, netguard.ErrRefused) {
			t.Errorf("%s: got %v, want the guard's refusal", u, err)
		}
	}
	if asked {
		t.Error("the loopback server was asked")
	}
}

type fakeResolver map[string]netip.Addr

func (r fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r[host]; ok {
		return []netip.Addr{a}, nil
	}
	return nil, fmt.Errorf("no such host %s", host)
}
