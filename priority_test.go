package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"herald/mailer/smtptest"
	"herald/store"
)

// TestPasswordResetLeavesDuringACampaignAndAnImport runs Herald as its own
// process while it sends a campaign to 1,000,000 contacts and imports a
// CSV file of 1,000,000 rows, then asks for a password reset through the
// API: the reset leaves while both are still under way, because the
// transactional lane never waits behind a campaign or an import.
func TestPasswordResetLeavesDuringACampaignAndAnImport(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary with a million contacts")
	}
	const audience, rows = 1_000_000, 1_000_000
	sink := smtptest.Start(t, smtptest.Options{Discard: true})

	bin := herald(t)
	dir, st := ownedData(t, bakery)
	ctx := context.Background()
	sinkRelay(t, st, sink, 2)
	name := "Everyone"
	l := listWith(t, st, name, audience, `'reader' || x || '@example.com'`)
	c := startedCampaign(t, st, name, l.ID)
	// The import: a million new people, in a file as an upload leaves it.
	var csv bytes.Buffer
	csv.WriteString("email,first_name\n")
	for i := range rows {
		fmt.Fprintf(&csv, "buyer%07d@example.com,Buyer\n", i)
	}
	file := filepath.Join(dir, "imports", "buyers.csv")
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, csv.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	job, err := st.CreateImport(ctx, store.ImportJob{FileName: "buyers.csv", FilePath: file, FileSize: int64(csv.Len()), Headers: []string{"email", "first_name"},
		Delimiter: ",", Offset: int64(len("email,first_name\n")), Line: 2}, &store.ImportSetup{Mode: store.ImportCreate, Mapping: []string{"email", "first_name"}})
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := st.CreateAPIKey(ctx, store.NewAPIKey{Name: "shop", Scopes: []string{store.ScopeSend}})
	if err != nil {
		t.Fatal(err)
	}

	cmd, exited, logs, addr := startHerald(t, bin, dir, "")
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
		if t.Failed() {
			t.Logf("herald:\n%s", logs.String())
		}
	}()
	waitFor(t, "the campaign and the import under way", func() string {
		j, err := st.Import(ctx, job.ID)
		if err == nil && sink.Count() >= 100 && j.Status == store.ImportRunning && j.Total > 0 {
			return "both"
		}
		return ""
	})

	body, _ := json.Marshal(map[string]any{"to": "reset@example.com", "subject": "Reset your password", "text": "Your link: https://bakery.test/reset/abc",
		"priority": "high"})
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/messages", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	asked := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Data struct {
			ID int64 `json:"id"`
		} `json:"data"`
	}
	json.NewDecoder(res.Body).Decode(&out)
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted && res.StatusCode != http.StatusCreated {
		t.Fatalf("the reset: %d", res.StatusCode)
	}
	waitFor(t, "the reset to leave", func() string {
		if m, err := st.Message(ctx, out.Data.ID); err == nil && m.Status == store.MessageSent {
			return "sent"
		}
		return ""
	})
	took := time.Since(asked)
	sent := sink.Count()
	j, err := st.Import(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	camp, err := st.Campaign(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the reset left %v after it was asked for, with %d campaign messages sent and %d import rows read", took.Round(time.Millisecond), sent, j.Total)
	if camp.Status != store.CampaignSending || sent >= audience {
		t.Errorf("the campaign was no longer sending when the reset left (%s, %d sent): the test proves nothing", camp.Status, sent)
	}
	if j.Status != store.ImportRunning || j.Total >= rows {
		t.Errorf("the import was no longer running when the reset left (%s, %d rows): the test proves nothing", j.Status, j.Total)
	}
	if err := st.CancelImport(ctx, job.ID); err != nil {
		t.Error(err)
	}
}
