package smtptest

import (
	"strings"
	"testing"
	"time"

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
	before := time.Now()
	if err := c.SendMail("a@example.com", []string{"c@example.com"}, strings.NewReader("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	if n := s.Count(); n != 3 {
		t.Fatalf("count: got %d, want 3", n)
	}
	st := s.Stats()
	if st.Messages != 3 || st.Recipients != 2 {
		t.Fatalf("stats: got %d messages to %d recipients, want 3 to 2", st.Messages, st.Recipients)
	}
	if st.First.After(before) || st.Last.Before(before) || st.Last.After(time.Now()) {
		t.Fatalf("stats: got first %v and last %v, want the first before %v and the last after it", st.First, st.Last, before)
	}
	s.Close()
	if st := s.child.cmd.ProcessState; st == nil || !st.Success() {
		t.Fatalf("the server's process after Close: %v, want it ended cleanly", st)
	}
	if n := s.Count(); n != -1 {
		t.Fatalf("count after Close: got %d, want -1", n)
	}
	if st := s.Stats(); st.Messages != -1 {
		t.Fatalf("stats after Close: got %+v, want -1 messages", st)
	}
}
