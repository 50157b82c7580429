package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"herald/store"
)

// BenchmarkSegmentsThroughBinary measures what an owner waits for on an
// attribute segment at 1M contacts, through the running binary: the
// count and first page from the API (`/api/v1/segments/{id}/count` and
// `/api/v1/contacts?segment_id=`), the contacts page filtered by the
// segment, and the segment editor's live count, for one condition (city
// is Paris, a tenth of the contacts), two joined by AND and two by OR.
// The segments are saved through the API and the binary's own job makes
// their indexes within its minute; each figure is the median of
// HERALD_BENCH_REPEAT (9) requests.
//
//	go test -run X -bench SegmentsThroughBinary -benchtime 1x -timeout 20m .
func BenchmarkSegmentsThroughBinary(b *testing.B) {
	rows, repeat := envInt("HERALD_BENCH_ROWS", 1_000_000), envInt("HERALD_BENCH_REPEAT", 9)
	bin := herald(b)
	for b.Loop() {
		b.StopTimer()
		dir, st := ownedData(b, bakery)
		ctx := context.Background()
		db, err := sql.Open("sqlite3", "file:"+st.Path()+"?_busy_timeout=10000")
		if err != nil {
			b.Fatal(err)
		}
		// Contacts in no order of address, a tenth in each of ten cities.
		if _, err := db.Exec(`WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < ?)
INSERT INTO contacts (email, first_name, attributes, created_at, updated_at)
SELECT 'person' || x || '@example' || (x % 100) || '.com', 'First' || x,
	json_object('city', json_extract('["Paris","Leeds","London","Berlin","Lisbon","Rome","Oslo","Nice","Lyon","Bonn"]', '$[' || (x % 10) || ']'),
		'age', (x * 7) % 90, 'plan', 'plan-' || (x % 3)), 0, 0
FROM i ORDER BY random()`, rows); err != nil {
			b.Fatal(err)
		}
		db.Close()
		owner, err := st.CreateUser(ctx, store.NewUser{Email: "owner@bakery.test", Role: store.RoleOwner, Password: "a long enough password"})
		if err != nil {
			b.Fatal(err)
		}
		session, _, err := st.CreateSession(ctx, owner.ID, "127.0.0.1", "bench")
		if err != nil {
			b.Fatal(err)
		}
		key := benchAPIKey(b, st)
		st.Close()
		cmd, exited, _, addr := startHerald(b, bin, dir, "")
		waitUp(b, addr)

		segments := []struct{ name, rules, form string }{
			{"one condition", `{"match":"all","conditions":[{"field":"attributes.city","op":"eq","value":"Paris"}]}`,
				"match.=all&node=0&field.0=attribute&attr.0=city&op.0=eq&value.0=Paris"},
			{"AND", `{"match":"all","conditions":[{"field":"attributes.city","op":"eq","value":"Paris"},{"field":"attributes.age","op":"gt","value":40}]}`,
				"match.=all&node=0&field.0=attribute&attr.0=city&op.0=eq&value.0=Paris&node=1&field.1=attribute&attr.1=age&op.1=gt&value.1=40"},
			{"OR", `{"match":"any","conditions":[{"field":"attributes.city","op":"eq","value":"Paris"},{"field":"attributes.plan","op":"eq","value":"plan-1"}]}`,
				"match.=any&node=0&field.0=attribute&attr.0=city&op.0=eq&value.0=Paris&node=1&field.1=attribute&attr.1=plan&op.1=eq&value.1=plan-1"},
		}
		ids := make([]int, len(segments))
		for i, g := range segments {
			status, out := apiCall(b, addr, key, "POST", "/api/v1/segments", fmt.Sprintf(`{"name": %q, "rules": %s}`, g.name, g.rules))
			if status != 201 {
				b.Fatalf("save %s: %d %v", g.name, status, out)
			}
			ids[i] = int(out["data"].(map[string]any)["id"].(float64))
		}
		client := &http.Client{Timeout: 60 * time.Second}
		get := func(path string, api bool) string {
			req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
			if api {
				req.Header.Set("Authorization", "Bearer "+key)
			} else {
				req.AddCookie(&http.Cookie{Name: "herald_session", Value: session})
			}
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 {
				b.Fatalf("GET %s: %d %.300s", path, res.StatusCode, body)
			}
			return string(body)
		}
		csrf := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindStringSubmatch(get("/segments/new", false))
		if csrf == nil {
			b.Fatal("no CSRF field in the segment editor")
		}
		liveCount := func(form string) {
			req, _ := http.NewRequest("POST", "http://"+addr+"/segments/count", strings.NewReader(form+"&_csrf="+url.QueryEscape(csrf[1])))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			req.Header.Set("HX-Request", "true")
			req.AddCookie(&http.Cookie{Name: "herald_session", Value: session})
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || !strings.Contains(string(body), "count-live") {
				b.Fatalf("live count: %d %.300s", res.StatusCode, body)
			}
		}
		median := func(f func()) time.Duration {
			took := make([]time.Duration, repeat)
			for i := range took {
				start := time.Now()
				f()
				took[i] = time.Since(start)
			}
			sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
			return took[len(took)/2]
		}
		measure := func(when string) {
			for i, g := range segments {
				id := ids[i]
				api := median(func() {
					get(fmt.Sprintf("/api/v1/segments/%d/count", id), true)
					get(fmt.Sprintf("/api/v1/contacts?segment_id=%d&per_page=50", id), true)
				})
				page := median(func() { get(fmt.Sprintf("/contacts?segment_id=%d", id), false) })
				live := median(func() { liveCount(g.form) })
				b.Logf("%s, %s: API count and first page %s, contacts page %s, editor's live count %s", when, g.name,
					api.Round(100*time.Microsecond), page.Round(100*time.Microsecond), live.Round(100*time.Microsecond))
				if when == "indexed" {
					b.ReportMetric(float64(api.Microseconds())/1000, strings.ReplaceAll(g.name, " ", "-")+"-api-ms")
					b.ReportMetric(float64(page.Microseconds())/1000, strings.ReplaceAll(g.name, " ", "-")+"-page-ms")
					b.ReportMetric(float64(live.Microseconds())/1000, strings.ReplaceAll(g.name, " ", "-")+"-live-ms")
				}
			}
		}
		measure("before the indexes")
		// The binary's job makes the indexes within its minute.
		ro, err := sql.Open("sqlite3", "file:"+st.Path()+"?mode=ro&_busy_timeout=10000")
		if err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(3 * time.Minute)
		for {
			var n int
			if err := ro.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'contacts_attr:%'`).Scan(&n); err != nil {
				b.Fatal(err)
			}
			if n == 4 { // city, age, plan, and city with age
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d attribute indexes after 3 minutes, want 4", n)
			}
			time.Sleep(time.Second)
		}
		ro.Close()
		b.StartTimer()
		measure("indexed")
		b.StopTimer()
		cmd.Process.Kill()
		<-exited
		b.StartTimer()
	}
}
