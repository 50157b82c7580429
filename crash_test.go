package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"herald/mailer"
	"herald/mailer/smtptest"
	"herald/store"
)

// TestKillDuringCampaignLosesNobody runs Herald as its own process, sends a
// campaign to a loopback SMTP server that counts deliveries per recipient,
// kills the process with SIGKILL mid-campaign and starts it again. The
// campaign must carry on by itself and reach everyone; only messages in
// flight at the kill, at most one per open relay connection, may arrive twice.
func TestKillDuringCampaignLosesNobody(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const recipients, conns = 3000, 2
	sink := smtptest.Start(t, smtptest.Options{RejectRcpt: func(string) error {
		time.Sleep(time.Millisecond) // slow enough to kill it mid-way
		return nil
	}})

	bin := herald(t)
	dir := filepath.Join(t.TempDir(), "data")
	// An owner keeps the setup link quiet; it also creates the data dir.
	if code, _, errs := runCLI(t, "a long enough password\n", "user", "add", "--data", dir, "--email", "owner@example.com", "--role", "owner"); code != 0 {
		t.Fatalf("user add: %s", errs)
	}
	st := openData(t, dir)
	ctx := context.Background()
	if _, err := st.SaveGeneral(ctx, store.General{OrgName: "Bakery", PostalAddress: "1 Mill Lane", FromName: "Bakery",
		FromEmail: "news@bakery.test", BaseURL: "https://news.bakery.test", Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateRelay(ctx, store.RelayInput{Name: "Sink", Kind: "smtp", Host: sink.Host(), Port: sink.Port(), TLS: "none",
		MaxConnections: conns, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	name := "News"
	l, err := st.CreateList(ctx, store.ListInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	for i := range recipients {
		e := fmt.Sprintf("r%04d@example.com", i)
		if _, _, err := st.CreateContact(ctx, store.ContactInput{Email: &e, Lists: []int64{l.ID}, Source: "test"}, false); err != nil {
			t.Fatal(err)
		}
	}
	c, err := st.CreateCampaign(ctx, store.CampaignInput{Name: &name, ListIDs: &[]int64{l.ID}})
	if err != nil {
		t.Fatal(err)
	}
	content, _ := json.Marshal(mailer.Content{Name: name, FromName: "Bakery", FromEmail: "news@bakery.test",
		Source: mailer.Source{Subject: "News", Format: mailer.FormatMarkdown, Body: "Hello {{.Contact.Email}}", Layout: mailer.DefaultLayout}})
	if _, err := st.StartCampaign(ctx, c.ID, string(content)); err != nil {
		t.Fatal(err)
	}

	start := func() (*exec.Cmd, chan error, *syncBuffer) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(bin, "--data", dir, "--addr", addr)
		var logs syncBuffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		return cmd, exited, &logs
	}

	// First run: kill it once a fifth of the messages have arrived.
	cmd, exited, logs := start()
	waitFor(t, "the first deliveries", func() string {
		if n := sink.Count(); n >= recipients/5 {
			return fmt.Sprint(n)
		}
		return ""
	})
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	atKill := sink.Count()
	if atKill >= recipients {
		t.Fatalf("the campaign finished before the kill (%d delivered); the test proves nothing", atKill)
	}

	// Second run: it carries on by itself and finishes.
	cmd, exited, logs2 := start()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	}()
	waitFor(t, "the campaign to finish", func() string {
		got, err := st.Campaign(ctx, c.ID)
		if err == nil && got.Status == store.CampaignSent {
			return "sent"
		}
		return ""
	})

	per := map[string]int{}
	for _, m := range sink.Messages() {
		per[m.To[0]]++
	}
	missing, dupes := 0, 0
	for i := range recipients {
		switch n := per[fmt.Sprintf("r%04d@example.com", i)]; {
		case n == 0:
			missing++
		case n > 1:
			dupes += n - 1
		}
	}
	t.Logf("%d delivered before the kill; %d duplicates after the restart", atKill, dupes)
	if missing > 0 {
		t.Errorf("%d recipients never got the campaign", missing)
	}
	if dupes > conns {
		t.Errorf("%d duplicates, want at most %d (one per open connection)", dupes, conns)
	}
	counts, _ := st.SendCounts(ctx, c.ID)
	if counts[store.SendSent] != recipients {
		t.Errorf("sends recorded as sent: got %v, want all %d", counts, recipients)
	}
	if t.Failed() {
		t.Logf("first run:\n%s\nsecond run:\n%s", logs.String(), logs2.String())
	}
}
