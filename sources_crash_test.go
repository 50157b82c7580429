package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"herald/store"
)

// TestKillDuringSourceRunResumes runs Herald as its own process with a
// source whose shop API on loopback (over TLS, trusted through
// SSL_CERT_FILE) holds 20,000 customers, 100 a page, under "customers"
// as Shopify's do. It kills the process
// with SIGKILL half-way through the run and starts it again: the same run
// resumes at the page after the last one committed, every customer is
// brought in once (all new, none updated), and only the page in flight at
// the kill is asked for twice.
func TestKillDuringSourceRunResumes(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const customers, size = 20000, 100
	var mu sync.Mutex
	asked := map[int]int{} // page → times asked
	shop := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer shop-token" {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		mu.Lock()
		asked[page]++
		mu.Unlock()
		time.Sleep(5 * time.Millisecond) // slow enough to be killed half-way
		out := []map[string]any{}
		for i := (page-1)*size + 1; i <= min(page*size, customers); i++ {
			out = append(out, map[string]any{"email": fmt.Sprintf("buyer%05d@example.com", i), "name": map[string]any{"first": "Buyer"}})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"customers": out})
	}))
	defer shop.Close()
	ca := filepath.Join(t.TempDir(), "shop.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: shop.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	bin := herald(t)
	dir, st := ownedData(t, store.General{OrgName: "Shop", Timezone: "UTC", AllowedHosts: []string{"127.0.0.1"}})
	ctx := context.Background()
	name, u, kind, token := "Shop", shop.URL+"/customers", "bearer", "shop-token"
	list, err := st.CreateList(ctx, store.ListInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	src, err := st.CreateSource(ctx, store.SourceInput{Name: &name, URL: &u, AuthKind: &kind, Secret: &token,
		Paging: &store.SourcePaging{Kind: "page", Size: size}, Mapping: &store.SourceMapping{Mode: store.ImportUpsert, ListIDs: []int64{list.ID},
			Fields: []store.SourceField{{Path: "email", Target: "email"}, {Path: "name.first", Target: "first_name"}}}}, "owner@example.com")
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"SSL_CERT_FILE=" + ca}
	runs := func() []store.SourceRun {
		rs, err := st.SourceRuns(ctx, src.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}

	cmd, exited, logs, _ := startHeraldWith(t, bin, dir, "", env)
	killed := false
	t.Cleanup(func() {
		if !killed { // a failure before the kill leaves it running
			cmd.Process.Signal(syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("first run (%d pages asked, runs %+v):\n%s", len(asked), runs(), logs.String())
			mu.Unlock()
		}
	})
	waitFor(t, "the run half-way", func() string {
		if rs := runs(); len(rs) == 1 && rs[0].Pages >= 80 {
			return "half"
		}
		return ""
	})
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	killed = true
	atKill := runs()[0]
	if atKill.Status != store.SourceRunRunning {
		t.Fatalf("the run at the kill: %s, want it still running", atKill.Status)
	}

	cmd, exited, logs2, _ := startHeraldWith(t, bin, dir, "", env)
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
		if t.Failed() {
			t.Logf("second run:\n%s", logs2.String())
		}
	}()
	waitFor(t, "the run to end", func() string {
		if rs := runs(); len(rs) > 0 && rs[0].Status != store.SourceRunRunning {
			return rs[0].Status
		}
		return ""
	})
	rs := runs()
	run := rs[0]
	if len(rs) != 1 || run.ID != atKill.ID || run.Status != store.SourceRunDone {
		t.Fatalf("runs after the restart: %+v, want the one cut short, resumed and done", rs)
	}
	// The page after the last, empty, says there is no more.
	if run.Pages != customers/size+1 || run.Fetched != customers || run.Job.Created != customers || run.Job.Updated != 0 || run.Job.Invalid != 0 {
		t.Errorf("resumed run: %d pages, %d fetched, %d new, %d updated, %d invalid; want %d, %d, %d, 0, 0",
			run.Pages, run.Fetched, run.Job.Created, run.Job.Updated, run.Job.Invalid, customers/size+1, customers, customers)
	}
	if l, err := st.List(ctx, list.ID); err != nil || l.Confirmed != customers {
		t.Errorf("list members: %d, %v; want %d", l.Confirmed, err, customers)
	}
	mu.Lock()
	defer mu.Unlock()
	twice := 0
	for page := 1; page <= customers/size; page++ {
		switch n := asked[page]; {
		case n == 0:
			t.Errorf("page %d never asked for", page)
		case n > 1:
			twice++
		}
	}
	t.Logf("killed after %d pages; %d pages asked for twice", atKill.Pages, twice)
	if twice > 1 {
		t.Errorf("%d pages asked for twice, want at most the one in flight at the kill", twice)
	}
}
