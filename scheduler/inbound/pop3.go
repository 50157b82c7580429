package inbound

// The POP3 client is written here, to RFC 1939 and RFC 2595 (STLS), rather
// than taken from a library: the protocol is a handful of line commands,
// and the one maintained Go library for reading mailboxes, go-imap v2, is
// still a beta and would be a new dependency for what this file does.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxReplyLine bounds a one-line reply; RFC 1939 allows 512 octets.
const maxReplyLine = 4096

// serverError is a refusal (POP3's -ERR, IMAP's NO or BAD), with the
// server's own words.
type serverError struct{ reply, text string }

func (e *serverError) Error() string { return "the server answered " + e.reply + " " + e.text }

// pop3Client is one POP3 session.
type pop3Client struct{ wire }

// dialPOP3 connects to the POP3 server of cfg, securing the connection as
// cfg.TLS says, and reads the greeting.
func dialPOP3(ctx context.Context, cfg PollerConfig, timeout time.Duration) (*pop3Client, error) {
	c := &pop3Client{}
	err := c.dial(ctx, cfg, timeout, func() error {
		_, err := c.reply()
		return err
	}, func() error {
		_, err := c.cmd("STLS")
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
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

// maxListing bounds a LIST or UIDL reply: some hundred thousand messages.
const maxListing = 8 << 20

// list lists the mailbox's messages with their sizes and unique ids.
func (c *pop3Client) list() ([]listing, error) {
	stat, err := c.cmd("STAT")
	if err != nil {
		return nil, fmt.Errorf("STAT: %w", err)
	}
	if n, _, _ := strings.Cut(stat, " "); n == "0" {
		return nil, nil
	}
	list, err := c.multi("LIST", maxListing)
	if err != nil {
		return nil, fmt.Errorf("LIST: %w", err)
	}
	uidl, err := c.multi("UIDL", maxListing)
	var refused *serverError
	if err != nil && !errors.As(err, &refused) {
		return nil, fmt.Errorf("UIDL: %w", err)
	}
	return parseListing(list, uidl)
}

// fetch retrieves message m, of at most limit bytes.
func (c *pop3Client) fetch(m listing, limit int) ([]byte, error) {
	// LIST may count line ends as one byte where RETR sends two.
	raw, err := c.multi("RETR "+strconv.Itoa(m.n), 2*limit)
	if err != nil {
		return nil, fmt.Errorf("RETR %d: %w", m.n, err)
	}
	return raw, nil
}

// remove marks message m for deletion at QUIT.
func (c *pop3Client) remove(m listing) error {
	if _, err := c.cmd("DELE " + strconv.Itoa(m.n)); err != nil {
		return fmt.Errorf("DELE %d: %w", m.n, err)
	}
	return nil
}

// commit ends the session with QUIT; the server deletes the messages
// marked with DELE.
func (c *pop3Client) commit() error {
	if _, err := c.cmd("QUIT"); err != nil {
		return fmt.Errorf("QUIT: %w", err)
	}
	return nil
}
