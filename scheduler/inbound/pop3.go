package inbound

// The POP3 client is written here, to RFC 1939 and RFC 2595 (STLS), rather
// than taken from a library: the protocol is a handful of line commands,
// and the one maintained Go library for reading mailboxes, go-imap v2, is
// still a beta and would be a new dependency for what this file does.

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// maxReplyLine bounds a one-line reply; RFC 1939 allows 512 octets.
const maxReplyLine = 4096

// serverError is a -ERR reply, with the server's own words.
type serverError struct{ text string }

func (e *serverError) Error() string { return "the server answered -ERR " + e.text }

// pop3Client is one POP3 session.
type pop3Client struct {
	conn net.Conn
	r    *bufio.Reader
	stop func() bool // stops closing the connection when the context ends
}

// dialPOP3 connects to the mailbox server of cfg, securing the connection
// as cfg.TLS says, and reads the greeting. Every read and write must make
// progress within timeout; the connection closes when ctx ends.
func dialPOP3(ctx context.Context, cfg PollerConfig, timeout time.Duration) (*pop3Client, error) {
	d := net.Dialer{Timeout: timeout}
	raw, err := d.DialContext(ctx, "tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.port())))
	if err != nil {
		return nil, err
	}
	c := &pop3Client{conn: idleConn{Conn: raw, d: timeout}, stop: context.AfterFunc(ctx, func() { raw.Close() })}
	if err := c.open(ctx, cfg); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *pop3Client) open(ctx context.Context, cfg PollerConfig) error {
	tlsCfg := &tls.Config{ServerName: cfg.Host, RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
	if cfg.TLS == TLSImplicit {
		if err := c.secure(ctx, tlsCfg); err != nil {
			return err
		}
	}
	c.r = bufio.NewReader(c.conn)
	if _, err := c.reply(); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if cfg.TLS != TLSStart {
		return nil
	}
	if _, err := c.cmd("STLS"); err != nil {
		return fmt.Errorf("STLS: %w", err)
	}
	if err := c.secure(ctx, tlsCfg); err != nil {
		return err
	}
	c.r = bufio.NewReader(c.conn)
	return nil
}

func (c *pop3Client) secure(ctx context.Context, cfg *tls.Config) error {
	tc := tls.Client(c.conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("TLS: %w", err)
	}
	c.conn = tc
	return nil
}

// Close drops the connection without QUIT: the deletions of this session
// are not committed.
func (c *pop3Client) Close() error {
	c.stop()
	return c.conn.Close()
}

// cmd sends one command and reads its one-line reply.
func (c *pop3Client) cmd(line string) (string, error) {
	if strings.ContainsAny(line, "\r\n") {
		return "", errors.New("a line break in a command")
	}
	if _, err := c.conn.Write([]byte(line + "\r\n")); err != nil {
		return "", err
	}
	return c.reply()
}

func (c *pop3Client) reply() (string, error) {
	line, err := readLine(c.r, maxReplyLine)
	if err != nil {
		return "", err
	}
	return parseReply(line)
}

// multi sends a command whose reply is a multi-line body and returns the
// body, of at most limit bytes.
func (c *pop3Client) multi(line string, limit int) ([]byte, error) {
	if _, err := c.cmd(line); err != nil {
		return nil, err
	}
	return readLines(c.r, limit)
}

// login authenticates with USER and PASS.
func (c *pop3Client) login(user, pass string) error {
	if _, err := c.cmd("USER " + user); err != nil {
		return fmt.Errorf("log in: the server refused the user name: %w", err)
	}
	if _, err := c.cmd("PASS " + pass); err != nil {
		return fmt.Errorf("log in: the server refused the user name or password: %w", err)
	}
	return nil
}

// quit ends the session; the server deletes the messages marked with DELE.
func (c *pop3Client) quit() error {
	_, err := c.cmd("QUIT")
	return err
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
