package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"herald/mailer"
	"herald/mailer/track"
	"herald/store"
)

// trackedSends prepares a data dir with a campaign of n sends and returns
// each send's open pixel path, signed as the running binary will check it.
func trackedSends(t testing.TB, dir string, n int) (*store.Store, int64, []string) {
	t.Helper()
	if code, _, errs := runCLI(t, "a long enough password\n", "user", "add", "--data", dir, "--email", "owner@example.com", "--role", "owner"); code != 0 {
		t.Fatalf("user add: %s", errs)
	}
	st := openData(t, dir)
	ctx := context.Background()
	name := "News"
	l, err := st.CreateList(ctx, store.ListInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		e := fmt.Sprintf("r%05d@example.com", i)
		if _, _, err := st.CreateContact(ctx, store.ContactInput{Email: &e, Lists: []int64{l.ID}, Source: "test"}, false); err != nil {
			t.Fatal(err)
		}
	}
	c, err := st.CreateCampaign(ctx, store.CampaignInput{Name: &name, ListIDs: &[]int64{l.ID}})
	if err != nil {
		t.Fatal(err)
	}
	content, _ := json.Marshal(mailer.Content{Name: name, FromEmail: "news@bakery.test",
		Source: mailer.Source{Subject: "News", Format: mailer.FormatMarkdown, Body: "Hello", Layout: mailer.DefaultLayout}})
	if _, err := st.StartCampaign(ctx, c.ID, string(content)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Materialise(ctx, c.ID, store.Audience{Lists: []int64{l.ID}}); err != nil {
		t.Fatal(err)
	}
	sends, err := st.ClaimSends(ctx, c.ID, n, time.Hour)
	if err != nil || len(sends) != n {
		t.Fatalf("claimed %d sends, %v; want %d", len(sends), err, n)
	}
	// Paused, so the binary sends nothing while it takes the opens.
	if _, err := st.ChangeCampaign(ctx, c.ID, store.ActionPause); err != nil {
		t.Fatal(err)
	}
	signer := track.NewSigner(st.Box().TrackingKey())
	sent := time.Now().Add(-time.Hour)
	paths := make([]string, n)
	for i, sd := range sends {
		paths[i] = "/o/" + signer.Sign(track.Ref{Campaign: c.ID, Send: sd.ID, Sent: sent})
	}
	return st, c.ID, paths
}

// TestKillDuringTrackingLosesNoHit opens tracked messages through the
// running binary from many connections at once, kills it with SIGKILL in
// the middle, and checks that every open that got its answer is in the
// database, with the counters committed in the same transaction.
func TestKillDuringTrackingLosesNoHit(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const sends, workers = 500, 16
	bin := herald(t)
	dir := filepath.Join(t.TempDir(), "data")
	st, campaign, paths := trackedSends(t, dir, sends)
	cmd, exited, logs, addr := startHerald(t, bin, dir, "")
	waitFor(t, "the server to answer", func() string {
		if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
			res.Body.Close()
			return "up"
		}
		return ""
	})

	var acked atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	for w := range workers {
		wg.Go(func() {
			for i := w; ; i += workers {
				select {
				case <-stop:
					return
				default:
				}
				res, err := client.Get("http://" + addr + paths[i%sends])
				if err != nil {
					continue
				}
				_, err = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if err == nil && res.StatusCode == http.StatusOK {
					acked.Add(1)
				}
			}
		})
	}
	waitFor(t, "opens under way", func() string {
		if n := acked.Load(); n >= 3000 {
			return fmt.Sprint(n)
		}
		return ""
	})
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	close(stop)
	wg.Wait()
	answered := acked.Load()

	// Hits logged and not yet applied when it died are applied when it
	// starts again.
	ctx := context.Background()
	pending, err := st.PendingHits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cmd, exited, logs, _ = startHerald(t, bin, dir, "")
	waitFor(t, "the logged hits to be applied", func() string {
		if n, err := st.PendingHits(ctx); err == nil && n == 0 {
			return "none left"
		}
		return ""
	})
	cmd.Process.Signal(syscall.SIGTERM)
	<-exited
	counts, err := st.CampaignCounts(ctx, campaign)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := st.CountEvents(ctx, campaign, store.ResultOpen)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d opens answered before the kill, %d of them still in the log; %d stored, %d counted", answered, pending, stored, counts.Opens)
	if int64(stored) < answered {
		t.Errorf("%d opens stored, want at least the %d answered", stored, answered)
	}
	if counts.Opens != stored || counts.UniqueOpens > sends {
		t.Errorf("counters say %d opens (%d unique), events %d: they must commit together", counts.Opens, counts.UniqueOpens, stored)
	}
	if t.Failed() {
		t.Logf("log:\n%s", logs.String())
	}
}
