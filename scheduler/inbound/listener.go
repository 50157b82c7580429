package inbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Listener is an SMTP server for the mail that comes back to Herald. It
// takes mail only for the addresses Accepts allows, offers no AUTH and
// relays nothing, and answers 250 to a message only once its Handler has
// committed it. It speaks plain SMTP: mail servers delivering to an MX use
// TLS only opportunistically, so none is refused for want of it. Build it
// with NewListener; the fields may be changed before Run.
type Listener struct {
	ln     net.Listener
	handle Handler
	log    *slog.Logger

	// Domain is the name in the greeting.
	Domain string
	// MaxConns bounds the connections served at once; one more is answered
	// 421 and closed, so its sender tries again later.
	MaxConns int
	// MaxReceiving bounds the messages held in memory at once; a message
	// beyond it waits for a turn before it is read.
	MaxReceiving int
	// MaxRecipients bounds the recipients of one message.
	MaxRecipients int
	// MaxMessageBytes bounds one message; a bigger one is refused with 552.
	MaxMessageBytes int64
	// MaxLineLength bounds a command or message line.
	MaxLineLength int
	// ReadTimeout and WriteTimeout bound each command and reply.
	ReadTimeout, WriteTimeout time.Duration
	// DataTimeout bounds reading one message.
	DataTimeout time.Duration
	// ShutdownTimeout is how long open sessions get to finish once Run's
	// context ends; then they are closed and handlers still running are
	// cancelled (their senders retry).
	ShutdownTimeout time.Duration
}

// NewListener returns a listener that will serve on ln and hand each
// message to h; start it with Run.
func NewListener(ln net.Listener, h Handler, log *slog.Logger) (*Listener, error) {
	if h == nil {
		return nil, errors.New("inbound: a listener needs a handler")
	}
	domain, err := os.Hostname()
	if err != nil {
		domain = "herald"
	}
	return &Listener{ln: ln, handle: h, log: log, Domain: domain,
		MaxConns: 50, MaxReceiving: 8, MaxRecipients: 10, MaxMessageBytes: MaxMessageBytes,
		MaxLineLength: 2000, ReadTimeout: time.Minute, WriteTimeout: time.Minute,
		DataTimeout: 5 * time.Minute, ShutdownTimeout: 5 * time.Second}, nil
}

// Addr is the address the listener serves on.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Run serves until ctx ends, then stops taking connections, gives open
// sessions ShutdownTimeout to finish, and returns once no handler runs.
func (l *Listener) Run(ctx context.Context) error {
	hctx, cancelHandlers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHandlers()
	rc := &receiver{l: l, ctx: hctx, turns: make(chan struct{}, max(l.MaxReceiving, 1))}
	srv := l.server(rc)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(newBusyListener(l.ln, l.MaxConns)) }()
	var err error
	select {
	case err = <-served:
		err = fmt.Errorf("smtp listener on %s: %w", l.ln.Addr(), err)
	case <-ctx.Done():
	}
	l.stop(srv, cancelHandlers)
	if err == nil {
		<-served
	}
	rc.wait()
	return err
}

// stop closes the listener and waits ShutdownTimeout for open sessions to
// end; then it cancels the handlers still running and closes the sessions.
func (l *Listener) stop(srv *smtp.Server, cancelHandlers context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), l.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		cancelHandlers()
		srv.Close()
	}
	l.ln.Close() // in case Serve had not yet taken it
}

func (l *Listener) server(rc *receiver) *smtp.Server {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{rc: rc, conn: c}, nil
	}))
	srv.Domain = l.Domain
	srv.MaxRecipients = l.MaxRecipients
	srv.MaxMessageBytes = l.MaxMessageBytes
	srv.MaxLineLength = l.MaxLineLength
	srv.ReadTimeout, srv.WriteTimeout = l.ReadTimeout, l.WriteTimeout
	srv.ErrorLog = slog.NewLogLogger(l.log.Handler(), slog.LevelDebug)
	return srv
}

// receiver is what one Run shares with its sessions.
type receiver struct {
	l *Listener
	// ctx is the handlers' context: it outlives Run's by the shutdown grace.
	ctx context.Context
	// turns holds a token for each message being read or handled.
	turns chan struct{}
	// mu guards closed; wg counts the messages being read or handled.
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// begin counts a message in, unless Run is past waiting for them.
func (rc *receiver) begin() bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.closed {
		return false
	}
	rc.wg.Add(1)
	return true
}

// wait waits for the messages counted in and lets no more in.
func (rc *receiver) wait() {
	rc.mu.Lock()
	rc.closed = true
	rc.mu.Unlock()
	rc.wg.Wait()
}

// busyListener hands the server at most max connections at a time and
// answers the ones beyond with 421, so their senders try again later
// rather than wait in the backlog.
type busyListener struct {
	net.Listener
	slots chan struct{}
}

func newBusyListener(ln net.Listener, n int) *busyListener {
	return &busyListener{Listener: ln, slots: make(chan struct{}, max(n, 1))}
}

func (b *busyListener) Accept() (net.Conn, error) {
	for {
		c, err := b.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case b.slots <- struct{}{}:
			return &slotConn{Conn: c, release: sync.OnceFunc(func() { <-b.slots })}, nil
		default:
			c.SetWriteDeadline(time.Now().Add(time.Second))
			c.Write([]byte("421 4.3.2 Too many connections, try again later\r\n"))
			c.Close()
		}
	}
}

// slotConn gives its slot back when it closes.
type slotConn struct {
	net.Conn
	release func()
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}
