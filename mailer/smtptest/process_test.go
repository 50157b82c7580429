package smtptest

import (
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

func TestStartProcessCountsAndStops(t *testing.T) {
	s := StartProcess(t)
	if s.Host() != "127.0.0.1" || s.Port() == 0 {
		t.Fatalf("address: got %q, want a loopback port", s.Addr)
	}
	c, err := smtp.Dial(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 2 {
		msg := "Subject: " + strings.Repeat("x", i) + "\r\n\r\n.leading dot\r\n"
		if err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(msg)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	c.Quit()
	if n := s.Count(); n != 2 {
		t.Fatalf("count: got %d, want 2", n)
	}
	s.Close()
	if st := s.child.cmd.ProcessState; st == nil || !st.Success() {
		t.Fatalf("the server's process after Close: %v, want it ended cleanly", st)
	}
	if n := s.Count(); n != -1 {
		t.Fatalf("count after Close: got %d, want -1", n)
	}
}
