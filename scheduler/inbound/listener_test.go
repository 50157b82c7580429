package inbound

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// recorder is a Handler that keeps what it is given and fails while fail
// is set.
type recorder struct {
	mu   sync.Mutex
	got  []Mail
	fail error
}

func (r *recorder) handle(_ context.Context, m Mail) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.got = append(r.got, m)
	return nil
}

func (r *recorder) mails() []Mail {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Mail(nil), r.got...)
}

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// startListener runs a listener on a loopback port until the test ends.
func startListener(t *testing.T, h Handler, tune func(*Listener)) *Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewListener(ln, h, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if tune != nil {
		tune(l)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: got %v, want nil", err)
		}
	})
	return l
}

// send sends one message and returns the error of the step that failed.
func send(t *testing.T, addr, from string, to []string, body string) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, body); err != nil {
		return err
	}
	return w.Close()
}

// smtpCode is the reply code of an SMTP error, 0 for anything else.
func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

const bounce = "From: MAILER-DAEMON@example.net\r\nSubject: Undelivered\r\n\r\n.leading dot\r\nbody\r\n"

func TestListenerHandsOverAcceptedMail(t *testing.T) {
	var rec recorder
	l := startListener(t, rec.handle, nil)
	to := []string{"Bounces+tok3n@Mail.Example.com", "unsubscribe@example.com", "UNSUBSCRIBE+x@example.org", "bounces@example.com"}
	if err := send(t, l.Addr().String(), "", to, bounce); err != nil {
		t.Fatalf("send: got %v, want nil", err)
	}
	got := rec.mails()
	if len(got) != 1 {
		t.Fatalf("handled: got %d messages, want 1", len(got))
	}
	m := got[0]
	if m.From != "" || strings.Join(m.To, ",") != strings.Join(to, ",") || m.Via != "smtp" {
		t.Fatalf("envelope: got %q %q %q, want \"\" %q smtp", m.From, m.To, m.Via, to)
	}
	if string(m.Raw) != bounce {
		t.Fatalf("raw: got %q, want %q", m.Raw, bounce)
	}
}

func TestListenerRefusesOtherRecipients(t *testing.T) {
	var rec recorder
	l := startListener(t, rec.handle, nil)
	var first string
	for _, to := range []string{"someone@example.com", "postmaster@example.com", "bounces+@example.com",
		"bouncesx@example.com", "unsubscribe-x@example.com", "relay@elsewhere.example"} {
		err := send(t, l.Addr().String(), "a@example.net", []string{to}, bounce)
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != 550 || se.EnhancedCode != (smtp.EnhancedCode{5, 1, 1}) {
			t.Fatalf("%s: got %v, want 550 5.1.1", to, err)
		}
		if first == "" {
			first = err.Error()
		}
		if err.Error() != first {
			t.Fatalf("%s: got %q, want the same refusal as every other: %q", to, err, first)
		}
	}
	if n := len(rec.mails()); n != 0 {
		t.Fatalf("handled: got %d, want 0", n)
	}
}

func TestListenerLimits(t *testing.T) {
	var rec recorder
	l := startListener(t, rec.handle, func(l *Listener) { l.MaxMessageBytes = 1000 })
	err := send(t, l.Addr().String(), "", []string{"bounces@x.example"}, strings.Repeat("a line of text\r\n", 100))
	if smtpCode(err) != 552 {
		t.Fatalf("oversize message: got %v, want 552", err)
	}
	var to []string
	for range 11 {
		to = append(to, "bounces@x.example")
	}
	if err := send(t, l.Addr().String(), "", to, bounce); smtpCode(err) != 452 {
		t.Fatalf("11 recipients: got %v, want 452", err)
	}
	if n := len(rec.mails()); n != 0 {
		t.Fatalf("handled: got %d, want 0", n)
	}
}

func TestListenerRefusesConnectionsBeyondMax(t *testing.T) {
	l := startListener(t, (&recorder{}).handle, func(l *Listener) { l.MaxConns = 1 })
	c, err := smtp.Dial(l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("first.example"); err != nil {
		t.Fatal(err)
	}
	second, err := smtp.Dial(l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if err := second.Hello("second.example"); smtpCode(err) != 421 {
		t.Fatalf("second connection: got %v, want 421", err)
	}
}

func TestListenerDefersWhenHandlerFails(t *testing.T) {
	rec := recorder{fail: errors.New("database is locked")}
	l := startListener(t, rec.handle, nil)
	err := send(t, l.Addr().String(), "", []string{"bounces+t@x.example"}, bounce)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 451 || !se.Temporary() {
		t.Fatalf("failing handler: got %v, want a temporary 451", err)
	}
	if strings.Contains(err.Error(), "locked") {
		t.Fatalf("reply: got %q, want the cause kept from the sender", err)
	}
}

func TestListenerRunStopsWithinShutdownTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started, cancelled := make(chan struct{}), make(chan struct{})
	slow := func(ctx context.Context, m Mail) error {
		close(started)
		<-ctx.Done()
		close(cancelled)
		return ctx.Err()
	}
	l, err := NewListener(ln, slow, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	l.ShutdownTimeout = 100 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	idle, err := smtp.Dial(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	sent := make(chan error, 1)
	go func() { sent <- send(t, ln.Addr().String(), "", []string{"bounces@x.example"}, bounce) }()
	<-started
	cancel()
	waitRun(t, done)
	<-cancelled
	if err := <-sent; err == nil {
		t.Fatal("message cut off by shutdown: got accepted, want an error")
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Fatal("dial after Run: got a connection, want none")
	}
}

// waitRun waits for a Run whose context has ended to return nil.
func waitRun(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: got %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
