package mailer

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Dial connects to the relay, negotiates TLS as configured and authenticates.
func (r SMTPRelay) Dial(ctx context.Context) (*SMTPConn, error) {
	timeout := r.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	addr := net.JoinHostPort(r.Host, fmt.Sprint(r.Port))
	tlsConfig := r.TLSConfig
	if tlsConfig == nil {
		tlsConfig = &tls.Config{ServerName: r.Host, MinVersion: tls.VersionTLS12}
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, classify("connect", err)
	}
	defer closeWhenStopped(ctx, conn)()
	// top is the connection the transactions go over, past any TLS.
	top := conn
	var c *smtp.Client
	switch r.TLS {
	case TLSImplicit:
		// Within the timeout, as a relay that takes the connection and
		// never shakes hands would otherwise hold it for good.
		conn.SetDeadline(time.Now().Add(timeout))
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, classify("tls", err)
		}
		conn.SetDeadline(time.Time{})
		c, top = smtp.NewClient(boundReads(tc)), tc
	case TLSStartTLS:
		tc, err := startTLS(ctx, conn, tlsConfig, timeout)
		if err != nil {
			return nil, err
		}
		c, top = smtp.NewClient(&regreeted{Conn: boundReads(tc), greeting: "220 TLS started\r\n"}), tc
	default:
		c = smtp.NewClient(boundReads(conn))
	}
	c.CommandTimeout = timeout
	c.SubmissionTimeout = 2 * timeout
	hello := r.HelloName
	if hello == "" {
		hello = "localhost"
	}
	if err := c.Hello(hello); err != nil {
		c.Close()
		stage := "connect"
		var smtpErr *smtp.SMTPError
		if r.TLS == TLSStartTLS && !errors.As(err, &smtpErr) {
			// Over TLS that has only just started, as when a TLS 1.3 server
			// refuses the handshake, the refusal comes with the first reply.
			stage = "tls"
		}
		return nil, classify(stage, err)
	}
	if r.Username != "" {
		if err := r.auth(c); err != nil {
			c.Close()
			return nil, err
		}
	}
	// go-smtp's client is done with: the connection is Herald's from here.
	pipelining, _ := c.Extension("PIPELINING")
	chunking, _ := c.Extension("CHUNKING")
	eightBit, _ := c.Extension("8BITMIME")
	return &SMTPConn{
		conn: top, tcp: conn, r: bufio.NewReader(top),
		pipelining: pipelining, chunking: chunking, eightBit: eightBit,
		commandTimeout: timeout, submissionTimeout: 2 * timeout,
	}, nil
}

// startTLS has go-smtp's client greet the relay and ask for TLS, then shakes
// hands itself, all within timeout: go-smtp's client keeps the TLS
// connection it makes to itself, and the transactions need it.
func startTLS(ctx context.Context, conn net.Conn, config *tls.Config, timeout time.Duration) (*tls.Conn, error) {
	conn.SetDeadline(time.Now().Add(timeout))
	// The client's command timeout cannot be set before it greets, and
	// it would set its default of five minutes for each command.
	if _, err := smtp.NewClientStartTLS(keptDeadline{boundReads(conn)}, config); err != nil {
		return nil, classify("tls", err)
	}
	tc := tls.Client(conn, config)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, classify("tls", err)
	}
	conn.SetDeadline(time.Time{})
	return tc, nil
}

// maxDialRead bounds what go-smtp's client reads while it sets up a
// connection: the greeting and the replies to EHLO, STARTTLS and AUTH,
// which it would read whole however long a relay made them.
const maxDialRead = 64 << 10

// boundedReads is a connection that reads no more than left bytes.
type boundedReads struct {
	net.Conn
	left int
}

func boundReads(c net.Conn) *boundedReads { return &boundedReads{Conn: c, left: maxDialRead} }

var errDialReplies = errors.New("the relay said more than 64 KiB before it was ready to take mail")

func (c *boundedReads) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errDialReplies
	}
	n, err := c.Conn.Read(p[:min(len(p), c.left)])
	c.left -= n
	return n, err
}

// keptDeadline is a connection whose deadline its user cannot move.
type keptDeadline struct{ net.Conn }

func (keptDeadline) SetDeadline(time.Time) error { return nil }

// regreeted is a connection after STARTTLS as a new go-smtp client takes
// it: the client starts by reading a greeting, which the relay gave only
// before TLS, so it reads one made up in its place.
type regreeted struct {
	net.Conn
	greeting string
}

func (c *regreeted) Read(p []byte) (int, error) {
	if c.greeting != "" {
		n := copy(p, c.greeting)
		c.greeting = c.greeting[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

func (r SMTPRelay) auth(c *smtp.Client) error {
	if ok, _ := c.Extension("AUTH"); !ok {
		return &SendError{Stage: "auth", Err: errors.New("the server does not offer AUTH; check the TLS mode or remove the username")}
	}
	var mech sasl.Client
	switch {
	case c.SupportsAuth(sasl.Plain):
		mech = sasl.NewPlainClient("", r.Username, r.Password)
	case c.SupportsAuth(sasl.Login):
		mech = sasl.NewLoginClient(r.Username, r.Password)
	default:
		_, offered := c.Extension("AUTH")
		return &SendError{Stage: "auth", Err: fmt.Errorf("the server offers AUTH %s but Herald speaks PLAIN and LOGIN", offered)}
	}
	if err := c.Auth(mech); err != nil {
		return classify("auth", err)
	}
	return nil
}
