package main

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

var smtpListening = regexp.MustCompile(`smtp listener taking bounces and unsubscribe mail"? addr=(127\.0\.0\.1:\d+)`)

// TestServeSMTPListener starts serve with --smtp-addr and checks that the
// listener takes only its addresses, hands what it takes to the feedback
// intake (a message that is no bounce is accepted and dropped), and stops
// after the HTTP server and before the workers.
func TestServeSMTPListener(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--smtp-addr", "127.0.0.1:0", "--data", t.TempDir()},
			strings.NewReader(""), &stdout, &stderr)
	}()
	addr := waitFor(t, "the smtp listener", func() string {
		if m := smtpListening.FindStringSubmatch(stderr.String()); m != nil {
			return m[1]
		}
		return ""
	})
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("", nil); err != nil {
		t.Fatal(err)
	}
	var se *smtp.SMTPError
	if err := c.Rcpt("someone@example.com", nil); !errors.As(err, &se) || se.Code != 550 {
		t.Fatalf("RCPT someone: got %v, want 550", err)
	}
	if err := c.Rcpt("bounces+abc@example.com", nil); err != nil {
		t.Fatalf("RCPT bounces: got %v, want nil", err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("Subject: Undelivered\r\n\r\nbody\r\n"))
	if err := w.Close(); err != nil {
		t.Fatalf("DATA: got %v, want it taken", err)
	}
	c.Close()

	logs := stopServe(t, cancel, done, &stderr)
	checkLogOrder(t, logs, "http server stopped", "smtp listener stopped", "scheduler stopped")
}
