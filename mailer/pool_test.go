package mailer

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"herald/mailer/smtptest"
)

func TestPoolReusesAtMostMaxConnections(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{Username: testUser, Password: testPass})
	r := relayFor(srv, TLSNone)
	r.Username, r.Password = testUser, testPass
	p := NewPool(r, 3)

	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				to := fmt.Sprintf("w%d-%d@example.net", w, i)
				if _, err := p.Deliver(t.Context(), testFrom, to, wireMessage(to)); err != nil {
					errs <- fmt.Errorf("%s: %w", to, err)
				}
			}
		})
	}
	wg.Wait()
	p.Close()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	msgs := srv.Wait(workers*each, 5*time.Second)
	seen := map[string]int{}
	for _, m := range msgs {
		seen[strings.Join(m.To, ",")]++
	}
	if len(msgs) != workers*each || len(seen) != workers*each {
		t.Errorf("delivered: got %d messages to %d recipients, want %d each once", len(msgs), len(seen), workers*each)
	}
	opened, peak := srv.Connections()
	if peak > 3 || opened > 3 || opened < 1 {
		t.Errorf("connections: opened %d, at most %d at once; want at most 3 of each", opened, peak)
	}
}

func TestPoolKeepsConnectionAfterRefusalAndRedialsAfterDrop(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{RejectRcpt: func(to string) error {
		if to == "gone@example.net" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}})
	p := NewPool(relayFor(srv, TLSNone), 1)
	defer p.Close()
	deliver := func(to string) error {
		_, err := p.Deliver(t.Context(), testFrom, to, wireMessage(to))
		return err
	}

	if err := deliver("a@example.net"); err != nil {
		t.Fatal(err)
	}
	checkSendError(t, deliver("gone@example.net"), "rcpt", 550, false, "5.1.1")
	if err := deliver("b@example.net"); err != nil {
		t.Fatalf("after a refusal: %v", err)
	}
	if opened, _ := srv.Connections(); opened != 1 {
		t.Errorf("connections after a refusal: got %d opened, want the one kept", opened)
	}

	// The relay drops the idle connection: the next message goes over a new
	// one, and is not failed for it.
	srv.DropConnections()
	if err := deliver("c@example.net"); err != nil {
		t.Fatalf("after the relay dropped the connection: %v", err)
	}
	if opened, _ := srv.Connections(); opened != 2 {
		t.Errorf("connections after a drop: got %d opened, want 2", opened)
	}
	var got []string
	for _, m := range srv.Messages() {
		got = append(got, m.To...)
	}
	sort.Strings(got)
	if want := "a@example.net b@example.net c@example.net"; strings.Join(got, " ") != want {
		t.Errorf("delivered: got %v, want %s", got, want)
	}
}

func TestPoolClosed(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	p := NewPool(relayFor(srv, TLSNone), 2)
	if _, err := p.Deliver(t.Context(), testFrom, "a@example.net", wireMessage("a@example.net")); err != nil {
		t.Fatal(err)
	}
	p.Close()
	_, err := p.Deliver(t.Context(), testFrom, "b@example.net", wireMessage("b@example.net"))
	checkSendError(t, err, "connect", 0, true, "closed")
}

// TestPoolDeliversToSeveral sends one message to five recipients through a
// relay that takes two a message and refuses one for good and one for
// now: the rest go in further transactions on the same connection, each
// taken recipient has the answer of its transaction, and the connection
// serves the next message.
func TestPoolDeliversToSeveral(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{MaxRecipients: 2, RejectRcpt: func(to string) error {
		switch to {
		case "gone@example.net":
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		case "full@example.net":
			return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "mailbox full"}
		}
		return nil
	}})
	p := NewPool(relayFor(srv, TLSNone), 1)
	defer p.Close()
	to := []string{"a@example.net", "gone@example.net", "b@example.net", "full@example.net", "c@example.net", "d@example.net"}
	res, err := p.DeliverTo(t.Context(), testFrom, to, wireMessage(to[0]))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Refused) != 1 || res.Refused["gone@example.net"] == nil || len(res.Deferred) != 1 || res.Deferred["full@example.net"] == nil {
		t.Errorf("refused %v, deferred %v; want gone for good and full for now", res.Refused, res.Deferred)
	}
	var taken []string
	for r, reply := range res.Replies {
		if !strings.HasPrefix(reply, "250 ") {
			t.Errorf("%s: reply %q", r, reply)
		}
		taken = append(taken, r)
	}
	sort.Strings(taken)
	if strings.Join(taken, " ") != "a@example.net b@example.net c@example.net d@example.net" {
		t.Errorf("replies for %v, want the four taken", taken)
	}
	var got []string
	for _, m := range srv.Messages() {
		got = append(got, strings.Join(m.To, " "))
	}
	if want := []string{"a@example.net b@example.net", "c@example.net d@example.net"}; !slices.Equal(got, want) {
		t.Errorf("transactions: got %q, want %s", got, want)
	}
	if _, err := p.Deliver(t.Context(), testFrom, "e@example.net", wireMessage("e@example.net")); err != nil {
		t.Errorf("the next message: %v", err)
	}
	if opened, _ := srv.Connections(); opened != 1 {
		t.Errorf("connections: got %d, want 1", opened)
	}
}

// TestPoolReusesAConnectionIdleBeyondItsDeadlines sends three messages
// through a pool of one, each after the last message's deadlines have
// passed: the one connection carries them all.
func TestPoolReusesAConnectionIdleBeyondItsDeadlines(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	r := relayFor(srv, TLSNone)
	r.Timeout = 50 * time.Millisecond
	p := NewPool(r, 1)
	defer p.Close()
	for i, to := range []string{"a@example.net", "b@example.net", "c@example.net"} {
		if i > 0 {
			time.Sleep(3 * r.Timeout) // past the submission timeout, twice the command timeout
		}
		if _, err := p.Deliver(t.Context(), testFrom, to, wireMessage(to)); err != nil {
			t.Fatalf("Deliver to %s: got %v, want nil", to, err)
		}
	}
	if opened, _ := srv.Connections(); opened != 1 {
		t.Errorf("connections: got %d opened, want 1", opened)
	}
}
