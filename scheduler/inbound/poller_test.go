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

func TestPollerTakesEveryMessageOnce(t *testing.T) {
	for _, mode := range []string{TLSNone, TLSStart, TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			srv := newPOP3Server(t, mode, mailbox...)
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
			first, second := got[0], got[1]
			if first.From != "" || !slices.Equal(first.To, []string{"bounces+a1@example.com"}) || first.Via != "pop3" {
				t.Fatalf("first envelope: got %q %q %q, want \"\" [bounces+a1@example.com] pop3", first.From, first.To, first.Via)
			}
			if !slices.Equal(second.To, []string{"bounces+b2@example.com"}) {
				t.Fatalf("second recipients: got %q, want the To address", second.To)
			}
			box, dele, _ := srv.state()
			if len(box) != 0 || !slices.Equal(dele, []int{1, 2, 3}) {
				t.Fatalf("mailbox after polls: got %d left, DELE %v, want 0 left, DELE [1 2 3]", len(box), dele)
			}
		})
	}
}

func TestPollerLeavesWhatTheHandlerRefuses(t *testing.T) {
	srv := newPOP3Server(t, TLSNone, mailbox...)
	var rec recorder
	p := newTestPoller(t, func(ctx context.Context, m Mail) error {
		if strings.Contains(string(m.Raw), "second") {
			return errors.New("database is locked")
		}
		return rec.handle(ctx, m)
	})
	err := p.poll(context.Background(), srv.config())
	if err == nil || !strings.Contains(err.Error(), "message 2 left in the mailbox") || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("poll: got %v, want message 2 left with its cause", err)
	}
	box, dele, retr := srv.state()
	if !slices.Equal(box, mailbox[1:]) || !slices.Equal(dele, []int{1}) || !slices.Equal(retr, []int{1, 2}) {
		t.Fatalf("mailbox: got %d left, DELE %v, RETR %v, want 2 left, DELE [1], RETR [1 2]", len(box), dele, retr)
	}
	if n := len(rec.mails()); n != 1 {
		t.Fatalf("handled: got %d, want 1", n)
	}
}

func TestPollerLeavesOversizeMessages(t *testing.T) {
	big := "Subject: big\r\n\r\n" + strings.Repeat("x", 500) + "\r\n"
	srv := newPOP3Server(t, TLSNone, mailbox[0], big, mailbox[2])
	var rec recorder
	p := newTestPoller(t, rec.handle)
	p.MaxMessageBytes = 200
	if err := p.poll(context.Background(), srv.config()); err != nil {
		t.Fatalf("poll: got %v, want nil", err)
	}
	box, dele, retr := srv.state()
	if !slices.Equal(box, []string{big}) || !slices.Equal(dele, []int{1, 3}) || !slices.Equal(retr, []int{1, 3}) {
		t.Fatalf("mailbox: got %d left, DELE %v, RETR %v, want the big one left, DELE [1 3], RETR [1 3]", len(box), dele, retr)
	}
}

func TestPollerWrongPassword(t *testing.T) {
	srv := newPOP3Server(t, TLSNone, mailbox...)
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
