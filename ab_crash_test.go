package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"herald/mailer/smtptest"
	"herald/store"
)

// TestKillBetweenABTestAndWinner runs an A/B test of two subjects on a
// fifth of 1,000 contacts through the running binary, kills it with
// SIGKILL once the test share is out, starts it again and picks the
// winner through the API: the rest of the audience gets the winner, and
// every contact gets exactly one message (but for one a connection in
// flight at the kill).
func TestKillBetweenABTestAndWinner(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const contacts, conns = 1000, 2
	sink := smtptest.Start(t, smtptest.Options{})
	bin := herald(t)
	dir, st := ownedData(t, bakery)
	ctx := context.Background()
	sinkRelay(t, st, sink, conns)
	name := "News"
	l := listWith(t, st, name, contacts, `'r' || x || '@example.com'`)
	_, key, err := st.CreateAPIKey(ctx, store.NewAPIKey{Name: "ab", Scopes: []string{store.ScopeFull}})
	if err != nil {
		t.Fatal(err)
	}
	cmd, exited, logs, addr := startHerald(t, bin, dir, "")
	waitUp(t, addr)
	status, out := apiCall(t, addr, key, "POST", "/api/v1/campaigns", fmt.Sprintf(`{"name": "June", "subject": "June", "text": "Hello", "list_ids": [%d],
	"ab": {"variants": [{"subject": "Fresh bread"}, {"subject": "Warm croissants"}], "test_percent": 20, "metric": "open", "wait_minutes": 0}}`, l.ID))
	if status != 201 {
		t.Fatalf("create: %d %v", status, out)
	}
	id := int64(out["data"].(map[string]any)["id"].(float64))
	if status, out := apiCall(t, addr, key, "POST", fmt.Sprintf("/api/v1/campaigns/%d/send", id), ""); status != 202 {
		t.Fatalf("send: %d %v", status, out)
	}
	db, err := sql.Open("sqlite3", "file:"+st.Path()+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(q string) int {
		var n int
		if err := db.QueryRow(q, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	tested := 0
	waitFor(t, "the test share to go out", func() string {
		tested = count(`SELECT count(*) FROM sends WHERE campaign_id = ? AND variant >= 0`)
		if tested > 0 && count(`SELECT count(*) FROM sends WHERE campaign_id = ? AND status = 'sent'`) == tested {
			return "out"
		}
		return ""
	})
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	held := count(`SELECT count(*) FROM sends WHERE campaign_id = ? AND variant = -1 AND status = 'queued'`)
	if held+tested != contacts || sink.Count() != tested {
		t.Fatalf("at the kill: %d tested, %d held, %d delivered; want the test share delivered and the rest held", tested, held, sink.Count())
	}

	cmd, exited, logs2, addr := startHerald(t, bin, dir, "")
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
		if t.Failed() {
			t.Logf("first run:\n%s\nsecond run:\n%s", logs.String(), logs2.String())
		}
	}()
	waitUp(t, addr)
	if status, out := apiCall(t, addr, key, "GET", fmt.Sprintf("/api/v1/campaigns/%d/ab", id), ""); status != 200 || out["data"].(map[string]any)["status"] != "testing" {
		t.Fatalf("after the restart: %d %v, want the test still running", status, out)
	}
	if status, out := apiCall(t, addr, key, "POST", fmt.Sprintf("/api/v1/campaigns/%d/ab/winner", id), `{"variant": 1}`); status != 200 {
		t.Fatalf("pick the winner: %d %v", status, out)
	}
	msgs := sink.Wait(contacts, time.Minute)
	per, rest := map[string]int{}, 0
	for i, m := range msgs {
		per[m.To[0]]++
		if i >= tested && strings.Contains(string(m.Data), "Subject: Warm croissants") {
			rest++
		}
	}
	dupes := len(msgs) - len(per)
	if len(per) != contacts || dupes > conns || rest < contacts-tested {
		t.Errorf("got %d messages to %d contacts (%d twice), %d of the rest with the winner; want every contact once, the rest %d with B",
			len(msgs), len(per), dupes, rest, contacts-tested)
	}
}
