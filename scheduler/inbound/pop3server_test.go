package inbound

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"herald/mailer/smtptest"
)

// pop3Server is a small POP3 server on a loopback port, written for these
// tests: no POP3 server can be started here otherwise. It serves one
// mailbox, numbers its messages afresh in each session as RFC 1939 does,
// and deletes them only when a session ends with QUIT.
type pop3Server struct {
	loopback
	pass string

	mu       sync.Mutex
	box      []stored
	dele     []int // the DELE commands received, in order
	retr     []int // the RETR commands received, in order
	dropQuit int   // how many QUITs to answer by hanging up
}

type stored struct{ uid, body string }

// newPOP3Server serves msgs, with mode's TLS, until the test ends.
func newPOP3Server(t *testing.T, mode string, msgs ...string) *pop3Server {
	t.Helper()
	s := &pop3Server{pass: "secret"}
	for i, m := range msgs {
		s.box = append(s.box, stored{uid: "uid-" + strconv.Itoa(i+1), body: m})
	}
	s.start(t, mode, s.serve)
	return s
}

// config is the poller configuration that reaches this server.
func (s *pop3Server) config() PollerConfig { return s.loopback.config(POP3, s.pass) }

// loopback is what the test mailbox servers share: a listener on a
// loopback port that serves each connection until the test ends, with the
// TLS of its mode.
type loopback struct {
	ln   net.Listener
	mode string
	// tls is the server's TLS, client what trusts it.
	tls, client *tls.Config
	wg          sync.WaitGroup
}

func (l *loopback) start(t *testing.T, mode string, serve func(net.Conn)) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.ln, l.mode = ln, mode
	if mode != TLSNone {
		l.tls, l.client = smtptest.TLSPair(t)
	}
	l.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.wg.Go(func() { serve(c) })
		}
	})
	t.Cleanup(func() { ln.Close(); l.wg.Wait() })
}

// config is the poller configuration that reaches this server over
// protocol.
func (l *loopback) config(protocol, pass string) PollerConfig {
	cfg := PollerConfig{Protocol: protocol, Host: "127.0.0.1", Port: l.ln.Addr().(*net.TCPAddr).Port, TLS: l.mode,
		Username: "bounces", Password: pass, Every: 10 * time.Millisecond}
	if l.mode != TLSNone {
		cfg.RootCAs = l.client.RootCAs
	}
	return cfg
}

func (s *pop3Server) serve(c net.Conn) {
	defer func() { c.Close() }()
	if s.mode == TLSImplicit {
		c = tls.Server(c, s.tls)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	fmt.Fprint(c, "+OK test POP3 server ready\r\n")
	pending := map[int]bool{}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd, arg, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
		switch strings.ToUpper(cmd) {
		case "STLS":
			fmt.Fprint(c, "+OK begin TLS\r\n")
			c = tls.Server(c, s.tls)
			r = bufio.NewReader(c)
		case "QUIT":
			if s.quit(pending) {
				fmt.Fprint(c, "+OK bye\r\n")
			}
			return
		default:
			io.WriteString(c, s.answer(strings.ToUpper(cmd), arg, pending))
		}
	}
}

// answer is the reply to one command of a session that marked pending for
// deletion.
func (s *pop3Server) answer(cmd, arg string, pending map[int]bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, _ := strconv.Atoi(arg)
	switch {
	case cmd == "USER":
		return "+OK\r\n"
	case cmd == "PASS" && arg != s.pass:
		return "-ERR [AUTH] invalid login\r\n"
	case cmd == "PASS":
		return "+OK logged in\r\n"
	case cmd == "STAT":
		return fmt.Sprintf("+OK %d 0\r\n", len(s.box)-len(pending))
	case cmd == "LIST" || cmd == "UIDL":
		var b strings.Builder
		b.WriteString("+OK\r\n")
		for i, m := range s.box {
			v := m.uid
			if cmd == "LIST" {
				v = strconv.Itoa(len(m.body))
			}
			if !pending[i+1] {
				fmt.Fprintf(&b, "%d %s\r\n", i+1, v)
			}
		}
		return b.String() + ".\r\n"
	case n < 1 || n > len(s.box) || pending[n]:
		return "-ERR no such message\r\n"
	case cmd == "RETR":
		s.retr = append(s.retr, n)
		return "+OK\r\n" + dotStuff(s.box[n-1].body) + ".\r\n"
	case cmd == "DELE":
		s.dele = append(s.dele, n)
		pending[n] = true
		return "+OK deleted\r\n"
	}
	return "-ERR unknown command\r\n"
}

// quit deletes the messages marked, unless it is to hang up instead.
func (s *pop3Server) quit(pending map[int]bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropQuit > 0 {
		s.dropQuit--
		return false
	}
	var kept []stored
	for i, m := range s.box {
		if !pending[i+1] {
			kept = append(kept, m)
		}
	}
	s.box = kept
	return true
}

// state returns the mailbox's bodies and the DELE and RETR commands seen.
func (s *pop3Server) state() (box []string, dele, retr []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.box {
		box = append(box, m.body)
	}
	return box, append([]int(nil), s.dele...), append([]int(nil), s.retr...)
}

// dotStuff encodes a message as a POP3 server sends it: a line that
// starts with a dot gets one more.
func dotStuff(msg string) string {
	var b strings.Builder
	for line := range strings.Lines(msg) {
		if strings.HasPrefix(line, ".") {
			b.WriteByte('.')
		}
		b.WriteString(line)
	}
	return b.String()
}

// The testMailbox view of the server: what is left, the RETR and DELE
// numbers.
func (s *pop3Server) left() []string    { box, _, _ := s.state(); return box }
func (s *pop3Server) fetchedIDs() []int { _, _, retr := s.state(); return retr }
func (s *pop3Server) removedIDs() []int { _, dele, _ := s.state(); return dele }
