package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"herald/mailer/smtptest"
	"herald/store"
)

// TestKillDuringAutomationSkipsAndRepeatsNoStep runs Herald as its own
// process with 10,000 contacts entering a flow of tag, email, tag and a
// condition at once, kills it with SIGKILL half-way and starts it again.
// Every journey ends having done each step exactly once, as its history
// says; every contact has exactly one send of the email, committed with
// the move past the email step; and the SMTP server gets each email once,
// but for at most one a connection in flight at the kill.
func TestKillDuringAutomationSkipsAndRepeatsNoStep(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const contacts, conns = 10000, 2
	sink := smtptest.Start(t, smtptest.Options{Discard: false})
	bin := herald(t)
	dir, st := ownedData(t, bakery)
	ctx := context.Background()
	sinkRelay(t, st, sink, conns)
	db, err := sql.Open("sqlite3", "file:"+st.Path()+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	insertContacts(t, st.Path(), contacts, `'r' || x || '@example.com'`, 0)
	tname, kind, format, subject, body := "Welcome", store.KindCampaign, "markdown", "Welcome", "Hello {{.Contact.Email}}"
	tmpl, err := st.CreateTemplate(ctx, store.TemplateInput{Name: &tname, Kind: &kind, Format: &format, Subject: &subject, Body: &body}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The automation is made and activated through the running binary's API.
	_, key, err := st.CreateAPIKey(ctx, store.NewAPIKey{Name: "crash", Scopes: []string{store.ScopeFull}})
	if err != nil {
		t.Fatal(err)
	}
	cmd, exited, logs, addr := startHerald(t, bin, dir, "")
	waitUp(t, addr)
	api := func(method, path, body string) map[string]any {
		t.Helper()
		status, out := apiCall(t, addr, key, method, path, body)
		if status >= 300 {
			t.Fatalf("%s %s: %d %v", method, path, status, out)
		}
		return out
	}
	flow := fmt.Sprintf(`{"name": "Welcome", "trigger": {"kind": "manual"}, "flow": {"steps": [
	{"kind": "add_tag", "tag": "first"}, {"kind": "email", "template_id": %d}, {"kind": "add_tag", "tag": "second"},
	{"kind": "condition", "rule": {"match": "all", "conditions": [{"field": "tag", "op": "eq", "value": "second"}]},
	 "branches": [[{"kind": "add_tag", "tag": "yes"}], [{"kind": "add_tag", "tag": "no"}]]}]}}`, tmpl.ID)
	id := int64(api("POST", "/api/v1/automations", flow)["data"].(map[string]any)["id"].(float64))
	api("POST", fmt.Sprintf("/api/v1/automations/%d/activate", id), "")
	// Everyone enters at once, in one transaction.
	ids := make([]store.Enrollment, contacts)
	for i := range ids {
		ids[i] = store.Enrollment{ContactID: int64(i + 1), Source: "test"}
	}
	if res, err := st.Enroll(ctx, id, ids); err != nil || res.Entered != contacts {
		t.Fatalf("enroll: %+v %v", res, err)
	}
	count := func(q string) int {
		var n int
		if err := db.QueryRow(q, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor(t, "journeys under way", func() string {
		if n := count(`SELECT count(*) FROM automation_journeys WHERE automation_id = ? AND status = 'completed'`); n >= contacts/10 {
			return fmt.Sprint(n)
		}
		return ""
	})
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	done := count(`SELECT count(*) FROM automation_journeys WHERE automation_id = ? AND status = 'completed'`)
	claimed := count(`SELECT count(*) FROM automation_journeys WHERE automation_id = ? AND lease_until IS NOT NULL`)
	if done >= contacts {
		t.Fatalf("every journey ended before the kill (%d); the test proves nothing", done)
	}

	cmd, exited, logs2, _ := startHerald(t, bin, dir, "")
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
		if t.Failed() {
			t.Logf("first run:\n%s\nsecond run:\n%s", logs.String(), logs2.String())
		}
	}()
	waitFor(t, "every journey to end", func() string {
		if n := count(`SELECT count(*) FROM automation_journeys WHERE automation_id = ? AND status = 'completed'`); n == contacts {
			return "done"
		}
		return ""
	})
	waitFor(t, "every email to reach the server", func() string {
		if n := sink.Count(); n >= contacts {
			return fmt.Sprint(n)
		}
		return ""
	})
	t.Logf("%d journeys had ended at the kill, and %d were claimed by the killed process", done, claimed)
	// Each journey did each of its five steps once: entered, 1, 2, 3, 4 and
	// the yes branch's 5, then completed.
	if n := count(`SELECT count(*) FROM (SELECT h.journey_id, h.step_id, h.outcome FROM automation_history h JOIN automation_journeys j ON j.id = h.journey_id
WHERE j.automation_id = ? GROUP BY 1, 2, 3 HAVING count(*) > 1)`); n != 0 {
		t.Errorf("%d steps ran twice in a journey", n)
	}
	if n := count(`SELECT count(*) FROM automation_history h JOIN automation_journeys j ON j.id = h.journey_id WHERE j.automation_id = ?`); n != contacts*7 {
		t.Errorf("got %d history entries, want %d (7 a journey)", n, contacts*7)
	}
	if n := count(`SELECT count(*) FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id WHERE t.name = 'yes' AND ? > 0`); n != contacts {
		t.Errorf("got %d contacts down the yes branch, want %d", n, contacts)
	}
	if n := count(`SELECT count(*) FROM sends s JOIN campaigns c ON c.id = s.campaign_id WHERE c.automation_id = ?`); n != contacts {
		t.Errorf("got %d sends of the email, want %d", n, contacts)
	}
	per := map[string]int{}
	for _, m := range sink.Messages() {
		per[m.To[0]]++
	}
	missing, dupes := 0, 0
	for i := range contacts {
		switch n := per[fmt.Sprintf("r%d@example.com", i+1)]; {
		case n == 0:
			missing++
		case n > 1:
			dupes += n - 1
		}
	}
	if missing > 0 || dupes > conns {
		t.Errorf("%d contacts never got the email and %d got it twice (at most %d may: one a connection)", missing, dupes, conns)
	}
}

// waitUp waits until the binary at addr answers.
func waitUp(t testing.TB, addr string) {
	t.Helper()
	waitFor(t, "the server to answer", func() string {
		if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
			res.Body.Close()
			return "up"
		}
		return ""
	})
}

// apiCall calls the running binary's API with key, and returns the status
// and the decoded answer.
func apiCall(t testing.TB, addr, key, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}
