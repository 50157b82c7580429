package inbound

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"time"
)

// wire is the connection under a POP3 or IMAP session: TCP, secured as
// the settings say, with a deadline on every read and write.
type wire struct {
	conn net.Conn
	r    *bufio.Reader
	stop func() bool // stops closing the connection when the context ends
}

// dial connects to the mailbox server of cfg and secures the connection:
// with TLS from the first byte, or with greet then starttls (the
// protocol's command) then TLS, or with greet alone. Every read and write
// must make progress within timeout; the connection closes when ctx ends.
func (w *wire) dial(ctx context.Context, cfg PollerConfig, timeout time.Duration, greet, starttls func() error) error {
	d := net.Dialer{Timeout: timeout}
	raw, err := d.DialContext(ctx, "tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.port())))
	if err != nil {
		return err
	}
	w.conn, w.stop = idleConn{Conn: raw, d: timeout}, context.AfterFunc(ctx, func() { raw.Close() })
	if err := w.open(ctx, cfg, greet, starttls); err != nil {
		w.Close()
		return err
	}
	return nil
}

func (w *wire) open(ctx context.Context, cfg PollerConfig, greet, starttls func() error) error {
	tlsCfg := &tls.Config{ServerName: cfg.Host, RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
	if cfg.TLS == TLSImplicit {
		if err := w.secure(ctx, tlsCfg); err != nil {
			return err
		}
	}
	w.r = bufio.NewReader(w.conn)
	if err := greet(); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if cfg.TLS != TLSStart {
		return nil
	}
	if err := starttls(); err != nil {
		return fmt.Errorf("STARTTLS: %w", err)
	}
	if err := w.secure(ctx, tlsCfg); err != nil {
		return err
	}
	w.r = bufio.NewReader(w.conn)
	return nil
}

func (w *wire) secure(ctx context.Context, cfg *tls.Config) error {
	tc := tls.Client(w.conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("TLS: %w", err)
	}
	w.conn = tc
	return nil
}

// Close drops the connection. Whatever the session marked for deletion
// and did not commit stays.
func (w *wire) Close() error {
	w.stop()
	return w.conn.Close()
}

// idleConn fails a read or write that makes no progress for d.
type idleConn struct {
	net.Conn
	d time.Duration
}

func (c idleConn) Read(b []byte) (int, error) {
	c.SetReadDeadline(time.Now().Add(c.d))
	return c.Conn.Read(b)
}

func (c idleConn) Write(b []byte) (int, error) {
	c.SetWriteDeadline(time.Now().Add(c.d))
	return c.Conn.Write(b)
}
