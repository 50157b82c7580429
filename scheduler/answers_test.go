package scheduler

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"herald/mailer"
	"herald/store"
)

// scripted is an SMTP server on loopback that answers from a script: the
// greeting, and the reply to each command by its verb. A missing reply to
// the greeting means it never says anything: a hung server.
type scripted struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

func startScripted(t *testing.T, greeting string, replies map[string]string) *scripted {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scripted{ln: ln}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Go(func() { s.serve(c, greeting, replies) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *scripted) serve(c net.Conn, greeting string, replies map[string]string) {
	defer c.Close()
	if greeting == "" {
		// Hung: read and say nothing until the client gives up.
		bufio.NewReader(c).ReadString(0)
		return
	}
	w := bufio.NewWriter(c)
	say := func(line string) { w.WriteString(line + "\r\n"); w.Flush() }
	say(greeting)
	if !strings.HasPrefix(greeting, "220") {
		return
	}
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		if reply, ok := replies[verb]; ok {
			say(reply)
			continue
		}
		switch verb {
		case "EHLO":
			say("250-scripted\r\n250 AUTH PLAIN")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func (s *scripted) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// TestRelayAnswersAreRetriedOrFailed sends one message to relays that
// answer 421 at the greeting, 454 to AUTH, 451 to RCPT, 550 5.1.1 to RCPT,
// or hang: every temporary answer leaves the message to retry later with
// the answer shown, the unknown user fails it and suppresses the address.
func TestRelayAnswersAreRetriedOrFailed(t *testing.T) {
	for _, tc := range []struct {
		name     string
		greeting string
		replies  map[string]string
		login    bool
		status   string
		answer   string
	}{
		{"421 at the greeting", "421 4.3.2 Service not available, closing channel", nil, false, store.SendRetrying, "421 4.3.2"},
		{"454 to AUTH", "220 scripted", map[string]string{"AUTH": "454 4.7.0 Temporary authentication failure"}, true, store.SendRetrying, "454 4.7.0"},
		{"451 to RCPT", "220 scripted", map[string]string{"RCPT": "451 4.7.1 Greylisted, try again"}, false, store.SendRetrying, "451 4.7.1"},
		{"550 5.1.1 to RCPT", "220 scripted", map[string]string{"RCPT": "550 5.1.1 No such user"}, false, store.SendFailed, "550 5.1.1"},
		{"a hung server", "", nil, false, store.SendRetrying, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startScripted(t, tc.greeting, tc.replies)
			st, d, c := dispatchFixture(t, nil, []string{"reader@example.com"})
			ctx := context.Background()
			in := store.RelayInput{Name: "Scripted", Kind: store.RelaySMTP, Host: "127.0.0.1", Port: srv.port(), TLS: store.TLSNone, MaxConnections: 1, Enabled: true}
			if tc.login {
				in.Username, in.Password = "user", new("secret")
			}
			if _, err := st.CreateRelay(ctx, in); err != nil {
				t.Fatal(err)
			}
			d.Open = func(_ context.Context, r store.Relay) (mailer.Transport, error) {
				relay := mailer.SMTPRelay{Host: r.Host, Port: r.Port, TLS: r.TLS, Timeout: 500 * time.Millisecond}
				if tc.login {
					relay.Username, relay.Password = "user", "secret"
				}
				return mailer.NewPool(relay, 1), nil
			}
			if err := d.RunCampaign(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
			sends, _, _ := st.CampaignSends(ctx, c.ID, "", 10, 0)
			if len(sends) != 1 || sends[0].Status != tc.status || !strings.Contains(sends[0].LastResponse, tc.answer) || sends[0].Attempts != 1 {
				t.Fatalf("send: %+v; want %s with %q after one attempt", sends, tc.status, tc.answer)
			}
			if tc.status == store.SendRetrying && !sends[0].NextAttempt.After(time.Now()) {
				t.Errorf("retry due at %v, want later", sends[0].NextAttempt)
			}
			contact, _ := st.ContactByEmail(ctx, "reader@example.com")
			if bounced := contact.Status == store.StatusBounced; bounced != (tc.status == store.SendFailed) {
				t.Errorf("contact status %s after %s", contact.Status, tc.name)
			}
		})
	}
}
