// Package smtptest runs a real SMTP server on loopback that records what it
// receives, for tests of everything that sends mail.
package smtptest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message the server accepted.
type Message struct {
	From string
	To   []string
	Data []byte
	// Auth is the username the client authenticated as, or "".
	Auth string
}

// Options shape the server's behaviour.
type Options struct {
	// Username and Password, when set, are required through AUTH PLAIN or LOGIN.
	Username, Password string
	// TLS enables STARTTLS (or implicit TLS with Implicit) with this certificate.
	TLS      *tls.Config
	Implicit bool
	// RejectRcpt, when it returns an error, refuses that recipient with it.
	RejectRcpt func(to string) error
	// Discard keeps no messages, only their count, for benchmarks.
	Discard bool
	// Recipients keeps the address of every recipient, so that Stats
	// counts them apart.
	Recipients bool
	// MaxRecipients, when set, is how many recipients a message may have;
	// the server answers 452 4.5.3 to the rest.
	MaxRecipients int
}

// Server is a recording SMTP server listening on 127.0.0.1.
type Server struct {
	Addr string
	srv  *smtp.Server
	done chan struct{}
	// child is the process that serves, for a server from StartProcess.
	child *child

	mu       sync.Mutex
	messages []Message
	count    int
	arrived  chan struct{}
	// first and last are when the first and the latest message arrived;
	// recipients, with Options.Recipients, every address one went to.
	first, last time.Time
	recipients  map[string]bool
	// Connections: how many were ever opened, how many are open, the most
	// open at once, and the open ones, so a test can drop them.
	opened, open, peak int
	conns              map[*trackedConn]bool
}

// trackingListener records the connections the server accepts.
type trackingListener struct {
	net.Listener
	s *Server
}

func (l trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.s.mu.Lock()
	l.s.opened++
	l.s.open++
	l.s.peak = max(l.s.peak, l.s.open)
	tc := &trackedConn{Conn: c, s: l.s}
	l.s.conns[tc] = true
	l.s.mu.Unlock()
	return tc, nil
}

type trackedConn struct {
	net.Conn
	s    *Server
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		c.s.open--
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// Connections reports how many connections were ever opened and the most
// that were open at once.
func (s *Server) Connections() (opened, peak int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened, s.peak
}

// DropConnections cuts every open connection without a word, as a relay
// that times out idle clients does.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// Start starts a server and stops it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := start(opts)
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func start(opts Options) (*Server, error) {
	s := &Server{done: make(chan struct{}), arrived: make(chan struct{}, 1024), conns: map[*trackedConn]bool{}}
	if opts.Recipients {
		s.recipients = map[string]bool{}
	}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, opts: opts}, nil
	}))
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	s.srv.MaxMessageBytes = 10 << 20
	s.srv.MaxRecipients = opts.MaxRecipients
	s.srv.AllowInsecureAuth = opts.TLS == nil
	s.srv.TLSConfig = opts.TLS
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	var ln net.Listener = trackingListener{Listener: raw, s: s}
	if opts.Implicit {
		ln = tls.NewListener(ln, opts.TLS)
	}
	s.Addr = ln.Addr().String()
	go func() {
		defer close(s.done)
		s.srv.Serve(ln)
	}()
	return s, nil
}

// Close stops the server and waits for it.
func (s *Server) Close() {
	if s.child != nil {
		s.child.close()
		return
	}
	s.srv.Close()
	<-s.done
}

// Host returns the address the server listens on, without the port.
func (s *Server) Host() string {
	h, _, _ := net.SplitHostPort(s.Addr)
	return h
}

// Port returns the port the server listens on.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr)
	n, _ := strconv.Atoi(p)
	return n
}

// Messages returns a copy of every message received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Count returns how many messages have arrived, kept or discarded.
func (s *Server) Count() int {
	if s.child != nil {
		return s.child.count()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Stats is what a server has taken, for benchmarks.
type Stats struct {
	// Messages counts every message; Recipients the distinct addresses
	// they went to, or -1 without Options.Recipients.
	Messages, Recipients int
	// First and Last are when the first and the latest message arrived;
	// zero before any did.
	First, Last time.Time
}

// Stats reports what the server has taken so far.
func (s *Server) Stats() Stats {
	if s.child != nil {
		return s.child.stats()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Messages: s.count, Recipients: -1, First: s.first, Last: s.last}
	if s.recipients != nil {
		st.Recipients = len(s.recipients)
	}
	return st
}

// Wait blocks until n messages have arrived in all, or the timeout passes.
func (s *Server) Wait(n int, timeout time.Duration) []Message {
	deadline := time.After(timeout)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-s.arrived:
		case <-deadline:
			return s.Messages()
		}
	}
}

type session struct {
	s    *Server
	opts Options
	auth string
	msg  Message
}

func (ss *session) AuthMechanisms() []string {
	if ss.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	check := func(username, password string) error {
		if username != ss.opts.Username || password != ss.opts.Password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		ss.auth = username
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, u, p string) error { return check(u, p) }), nil
	case sasl.Login:
		return newLoginServer(check), nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.opts.Username != "" && ss.auth == "" {
		return smtp.ErrAuthRequired
	}
	ss.msg = Message{From: from, Auth: ss.auth}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.opts.RejectRcpt != nil {
		if err := ss.opts.RejectRcpt(to); err != nil {
			return err
		}
	}
	ss.msg.To = append(ss.msg.To, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	if ss.opts.Discard {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return err
		}
		ss.s.took(ss.msg, false)
		return nil
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.msg.Data = b
	ss.s.took(ss.msg, true)
	select {
	case ss.s.arrived <- struct{}{}:
	default:
	}
	return nil
}

// took counts a message that arrived, and keeps it if asked.
func (s *Server) took(m Message, keep bool) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count++
	if s.count == 1 {
		s.first = now
	}
	s.last = now
	if keep {
		s.messages = append(s.messages, m)
	}
	if s.recipients != nil {
		for _, to := range m.To {
			s.recipients[to] = true
		}
	}
}

func (ss *session) Reset() { ss.msg = Message{} }

func (ss *session) Logout() error { return nil }

// loginServer speaks the server side of AUTH LOGIN, which go-sasl no longer ships.
type loginServer struct {
	check    func(username, password string) error
	step     int
	username string
}

func newLoginServer(check func(string, string) error) sasl.Server {
	return &loginServer{check: check}
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step++
		if len(response) > 0 { // initial response carries the username
			l.username = string(response)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.username = string(response)
		l.step++
		return []byte("Password:"), false, nil
	case 2:
		l.step++
		return nil, true, l.check(l.username, string(response))
	}
	return nil, false, errors.New("unexpected AUTH LOGIN step")
}
