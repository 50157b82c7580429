package inbound

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var mailbox = []string{
	"Return-Path: <>\r\nDelivered-To: bounces+a1@example.com\r\nTo: other@example.com\r\nSubject: first\r\n\r\n.starts with a dot\r\n..two dots\r\n.\r\nend\r\n",
	"To: Bounces <bounces+b2@example.com>\r\nSubject: second\r\n\r\nbody\r\n",
	"Subject: third\r\n\r\n\r\n",
}

func newTestPoller(t *testing.T, h Handler) *Poller {
	t.Helper()
	p, err := NewPoller(func(context.Context) (PollerConfig, bool, error) { return PollerConfig{}, false, nil }, h, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	p.Timeout = 5 * time.Second
	return p
}

func raws(ms []Mail) []string {
	var out []string
	for _, m := range ms {
		out = append(out, string(m.Raw))
	}
	return out
}

// testMailbox is a test POP3 or IMAP server, seen alike.
type testMailbox interface {
	config() PollerConfig
	// left is what the mailbox holds; fetched and removed are the
	// messages fetched and marked for deletion, by number (POP3) or UID
	// (IMAP), in order.
	left() []string
	fetchedIDs() []int
	removedIDs() []int
}

// mailboxServer is a test server of one kind, with the ids of the three
// messages it starts with.
type mailboxServer struct {
	name  string
	start func(t *testing.T, mode string, msgs ...string) testMailbox
	ids   [3]int
}

var mailboxServers = []mailboxServer{
	{"pop3", func(t *testing.T, mode string, msgs ...string) testMailbox { return newPOP3Server(t, mode, msgs...) }, [3]int{1, 2, 3}},
	{"imap", func(t *testing.T, mode string, msgs ...string) testMailbox { return newIMAPServer(t, mode, msgs...) }, [3]int{10, 12, 14}},
	{"imap-without-uidplus", func(t *testing.T, mode string, msgs ...string) testMailbox {
		s := newIMAPServer(t, mode, msgs...)
		s.uidplus = false
		return s
	}, [3]int{10, 12, 14}},
}

func TestPollerTakesEveryMessageOnce(t *testing.T) {
	for _, mode := range []string{TLSNone, TLSStart, TLSImplicit} {
		for _, ms := range mailboxServers {
			t.Run(mode+"/"+ms.name, func(t *testing.T) {
				srv := ms.start(t, mode, mailbox...)
				var rec recorder
				p := newTestPoller(t, rec.handle)
				for range 2 {
					if err := p.poll(context.Background(), srv.config()); err != nil {
						t.Fatalf("poll: got %v, want nil", err)
					}
				}
				got := rec.mails()
				if !slices.Equal(raws(got), mailbox) {
					t.Fatalf("handled: got %q, want %q", raws(got), mailbox)
				}
				first, second, via := got[0], got[1], srv.config().Protocol
				if first.From != "" || !slices.Equal(first.To, []string{"bounces+a1@example.com"}) || first.Via != via {
					t.Fatalf("first envelope: got %q %q %q, want \"\" [bounces+a1@example.com] %s", first.From, first.To, first.Via, via)
				}
				if !slices.Equal(second.To, []string{"bounces+b2@example.com"}) {
					t.Fatalf("second recipients: got %q, want the To address", second.To)
				}
				if left, removed, fetched := srv.left(), srv.removedIDs(), srv.fetchedIDs(); len(left) != 0 || !slices.Equal(removed, ms.ids[:]) || !slices.Equal(fetched, ms.ids[:]) {
					t.Fatalf("mailbox after polls: got %d left, removed %v, fetched %v, want 0 left, both %v", len(left), removed, fetched, ms.ids)
				}
				if imap, ok := srv.(*imapServer); ok {
					want := "UID EXPUNGE 10,12,14"
					if !imap.uidplus {
						want = "EXPUNGE"
					}
					if !slices.Equal(imap.expunges, []string{want}) {
						t.Fatalf("expunges: got %q, want [%s]", imap.expunges, want)
					}
				}
			})
		}
	}
}

func TestPollerLeavesWhatTheHandlerRefuses(t *testing.T) {
	for _, ms := range mailboxServers[:2] {
		t.Run(ms.name, func(t *testing.T) {
			srv := ms.start(t, TLSNone, mailbox...)
			var rec recorder
			p := newTestPoller(t, func(ctx context.Context, m Mail) error {
				if strings.Contains(string(m.Raw), "second") {
					return errors.New("database is locked")
				}
				return rec.handle(ctx, m)
			})
			err := p.poll(context.Background(), srv.config())
			left := fmt.Sprintf("message %d left in the mailbox", ms.ids[1])
			if err == nil || !strings.Contains(err.Error(), left) || !strings.Contains(err.Error(), "locked") {
				t.Fatalf("poll: got %v, want %s with its cause", err, left)
			}
			if box, removed, fetched := srv.left(), srv.removedIDs(), srv.fetchedIDs(); !slices.Equal(box, mailbox[1:]) ||
				!slices.Equal(removed, ms.ids[:1]) || !slices.Equal(fetched, ms.ids[:2]) {
				t.Fatalf("mailbox: got %d left, removed %v, fetched %v, want 2 left, removed %v, fetched %v", len(box), removed, fetched, ms.ids[:1], ms.ids[:2])
			}
			if n := len(rec.mails()); n != 1 {
				t.Fatalf("handled: got %d, want 1", n)
			}
			if imap, ok := srv.(*imapServer); ok {
				box, _ := imap.state()
				for _, m := range box {
					if m.seen || m.deleted {
						t.Fatalf("message %d left: seen %v, deleted %v, want neither: the poller only peeks", m.uid, m.seen, m.deleted)
					}
				}
			}
		})
	}
}

func TestPollerLeavesOversizeMessages(t *testing.T) {
	big := "Subject: big\r\n\r\n" + strings.Repeat("x", 500) + "\r\n"
	for _, ms := range mailboxServers[:2] {
		t.Run(ms.name, func(t *testing.T) {
			srv := ms.start(t, TLSNone, mailbox[0], big, mailbox[2])
			var rec recorder
			p := newTestPoller(t, rec.handle)
			p.MaxMessageBytes = 200
			if err := p.poll(context.Background(), srv.config()); err != nil {
				t.Fatalf("poll: got %v, want nil", err)
			}
			want := []int{ms.ids[0], ms.ids[2]}
			if box, removed, fetched := srv.left(), srv.removedIDs(), srv.fetchedIDs(); !slices.Equal(box, []string{big}) ||
				!slices.Equal(removed, want) || !slices.Equal(fetched, want) {
				t.Fatalf("mailbox: got %d left, removed %v, fetched %v, want the big one left, both %v", len(box), removed, fetched, want)
			}
		})
	}
}

func TestPollerWrongPassword(t *testing.T) {
	for _, ms := range mailboxServers[:2] {
		t.Run(ms.name, func(t *testing.T) {
			srv := ms.start(t, TLSNone, mailbox...)
			var rec recorder
			p := newTestPoller(t, rec.handle)
			cfg := srv.config()
			cfg.Password = "wrong"
			err := p.poll(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), "refused the user name or password") || !strings.Contains(err.Error(), "invalid login") {
				t.Fatalf("poll: got %v, want a refused login with the server's words", err)
			}
			if n := len(rec.mails()); n != 0 {
				t.Fatalf("handled: got %d, want 0", n)
			}
		})
	}
}

func TestPollerDoesNotHandleAgainWhenQuitFails(t *testing.T) {
	srv := newPOP3Server(t, TLSNone, mailbox...)
	srv.dropQuit = 1
	var rec recorder
	p := newTestPoller(t, rec.handle)
	if err := p.poll(context.Background(), srv.config()); err == nil || !strings.Contains(err.Error(), "QUIT") {
		t.Fatalf("first poll: got %v, want a QUIT error", err)
	}
	if box, _, _ := srv.state(); len(box) != 3 {
		t.Fatalf("mailbox after a failed QUIT: got %d messages, want 3", len(box))
	}
	if err := p.poll(context.Background(), srv.config()); err != nil {
		t.Fatalf("second poll: got %v, want nil", err)
	}
	box, _, retr := srv.state()
	if n := len(rec.mails()); n != 3 || len(box) != 0 || len(retr) != 3 {
		t.Fatalf("after the second poll: got %d handled, %d left, RETR %v, want 3, 0, three", n, len(box), retr)
	}
}

func TestPollerRunStopsOnCancel(t *testing.T) {
	for _, cfg := range []PollerConfig{newPOP3Server(t, TLSNone, mailbox...).config(), newIMAPServer(t, TLSStart, mailbox...).config()} {
		t.Run(cfg.Protocol, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			seen := make(chan struct{}, len(mailbox))
			p, err := NewPoller(func(context.Context) (PollerConfig, bool, error) { return cfg, true, nil },
				func(context.Context, Mail) error { seen <- struct{}{}; return nil }, quietLog())
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- p.Run(ctx) }()
			for range mailbox {
				select {
				case <-seen:
				case <-time.After(10 * time.Second):
					t.Fatal("the poller handed no message in 10 s")
				}
			}
			cancel()
			waitRun(t, done)
		})
	}
}

func TestPollerConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  PollerConfig
		want string
	}{
		{PollerConfig{Host: "pop.example.com", TLS: TLSImplicit}, ""},
		{PollerConfig{Host: "localhost", TLS: TLSNone}, ""},
		{PollerConfig{Host: "pop.example.com", TLS: TLSNone}, "plain text"},
		{PollerConfig{Host: "pop.example.com", TLS: "ssl"}, "TLS must be"},
		{PollerConfig{TLS: TLSStart}, "no mailbox server"},
		{PollerConfig{Protocol: IMAP, Host: "imap.example.com", TLS: TLSStart, Folder: "Bounces"}, ""},
		{PollerConfig{Protocol: "smtp", Host: "imap.example.com", TLS: TLSStart}, "protocol must be"},
		{PollerConfig{Protocol: IMAP, Host: "imap.example.com", TLS: TLSStart, Folder: "Réponses"}, "printable ASCII"},
	} {
		t.Run(fmt.Sprint(tc.cfg.Host, tc.cfg.TLS), func(t *testing.T) {
			err := tc.cfg.Validate()
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
