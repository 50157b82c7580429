package main

import (
	"bytes"
	"context"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"herald/mailer/smtptest"
	"herald/store"
)

// TestKillDuringMessagesToSeveralLosesNobody queues transactional messages
// to six recipients each through a relay that takes three a transaction,
// and that cannot take some recipients yet the first time, then kills the
// running binary with SIGKILL while they go out and starts it again. Every
// recipient gets every message: those sent to before the kill are written
// down as sent with the message, and those still waiting get it alone
// later. Only a message in flight at the kill, one per lane worker at
// most, may reach some of its recipients twice.
func TestKillDuringMessagesToSeveralLosesNobody(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const messages, workers = 80, 4
	var mu sync.Mutex
	refusedOnce := map[string]bool{}
	sink := smtptest.Start(t, smtptest.Options{MaxRecipients: 3, RejectRcpt: func(to string) error {
		time.Sleep(3 * time.Millisecond) // slow enough to have messages in flight at the kill
		mu.Lock()
		defer mu.Unlock()
		if strings.HasPrefix(to, "slow") && !refusedOnce[to] {
			refusedOnce[to] = true
			return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "mailbox full for now"}
		}
		return nil
	}})
	bin := herald(t)
	dir, st := ownedData(t, store.General{OrgName: "Shop", FromName: "Shop", FromEmail: "shop@shop.test", Timezone: "UTC", FirstRetrySeconds: 5})
	ctx := context.Background()
	sinkRelay(t, st, sink, 2)
	want := map[int64][]string{} // message id → its recipients
	for i := range messages {
		addr := func(role string) store.Address {
			return store.Address{Email: fmt.Sprintf("m%02d%s@example.com", i, role)}
		}
		in := store.NewMessage{Message: store.Message{ToEmail: addr("a").Email, FromEmail: "shop@shop.test", Subject: fmt.Sprintf("Order %d", i), Text: "Thanks.",
			Recipients: store.Recipients{To: []store.Address{addr("b")}, Cc: []store.Address{addr("c"), addr("d")}, Bcc: []store.Address{addr("e")}}}}
		if i%2 == 0 {
			in.Recipients.Bcc = append(in.Recipients.Bcc, store.Address{Email: fmt.Sprintf("slow%02d@example.com", i)})
		}
		m, _, err := st.CreateMessage(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		want[m.ID] = m.All()
	}

	cmd, exited, logs, _ := startHerald(t, bin, dir, "")
	waitFor(t, "messages under way", func() string {
		if n := sink.Count(); n >= 40 {
			return fmt.Sprint(n)
		}
		return ""
	})
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	atKill := sink.Count()
	if _, n, err := st.Messages(ctx, store.MessageFilter{Status: store.MessageSent}, 1, 0); err != nil || n == messages {
		t.Fatalf("every message was sent before the kill (%d, %v); the test proves nothing", n, err)
	}

	cmd, exited, logs2, _ := startHerald(t, bin, dir, "")
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
		if t.Failed() {
			t.Logf("first run:\n%s\nsecond run:\n%s", logs.String(), logs2.String())
		}
	}()
	waitFor(t, "every message sent", func() string {
		if _, n, err := st.Messages(ctx, store.MessageFilter{Status: store.MessageSent}, 1, 0); err == nil && n == messages {
			return fmt.Sprint(n)
		}
		return ""
	})
	got := map[string]int{} // message id and recipient → deliveries
	for _, m := range sink.Messages() {
		pm, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		var id int64
		fmt.Sscanf(strings.TrimPrefix(pm.Header.Get("Message-Id"), "<m"), "%d.", &id)
		for _, to := range m.To {
			got[fmt.Sprint(id, " ", to)]++
		}
	}
	twice := map[int64]bool{}
	for id, rcpts := range want {
		for _, to := range rcpts {
			switch n := got[fmt.Sprint(id, " ", to)]; {
			case n == 0:
				t.Errorf("message %d never reached %s", id, to)
			case n > 1:
				twice[id] = true
			}
		}
	}
	t.Logf("%d transactions before the kill; %d messages reached someone twice", atKill, len(twice))
	if len(twice) > workers {
		t.Errorf("%d messages reached someone twice, want at most %d (one per lane worker)", len(twice), workers)
	}
	var slowAlone int
	for _, m := range sink.Messages() {
		if len(m.To) == 1 && strings.HasPrefix(m.To[0], "slow") {
			slowAlone++
		}
	}
	// Only a message in flight at the kill goes to everyone again, its slow
	// recipient among them.
	if slowAlone < messages/2-workers {
		t.Errorf("%d messages went alone to a recipient who could not take them at first, want at least %d", slowAlone, messages/2-workers)
	}
}
