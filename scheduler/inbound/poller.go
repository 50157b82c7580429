package inbound

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
)

// How a Poller secures its connection.
const (
	TLSImplicit = "tls"      // TLS from the first byte, port 995 or 993
	TLSStart    = "starttls" // STLS or STARTTLS after the greeting, port 110 or 143
	TLSNone     = "none"     // plain text, only to a loopback address
)

// The protocols a Poller speaks.
const (
	POP3 = "pop3"
	IMAP = "imap"
)

// PollerConfig says which mailbox to poll and how often.
type PollerConfig struct {
	// Protocol is POP3 (when empty) or IMAP.
	Protocol string
	Host     string
	// Port is the protocol's usual one for the TLS mode when zero.
	Port int
	// TLS is TLSImplicit, TLSStart or TLSNone.
	TLS                string
	Username, Password string
	// Folder is the IMAP folder to read; INBOX when empty.
	Folder string
	// Every is the time between polls; a minute when zero.
	Every time.Duration
	// RootCAs are the authorities to trust instead of the system's.
	RootCAs *x509.CertPool
}

func (c PollerConfig) port() int {
	switch {
	case c.Port != 0:
		return c.Port
	case c.Protocol == IMAP && c.TLS == TLSImplicit:
		return 993
	case c.Protocol == IMAP:
		return 143
	case c.TLS == TLSImplicit:
		return 995
	}
	return 110
}

func (c PollerConfig) protocol() string { return cmp.Or(c.Protocol, POP3) }

func (c PollerConfig) folder() string { return cmp.Or(c.Folder, "INBOX") }

// Validate says what is wrong with c, if anything.
func (c PollerConfig) Validate() error {
	switch {
	case c.Host == "":
		return errors.New("no mailbox server")
	case c.protocol() != POP3 && c.protocol() != IMAP:
		return fmt.Errorf("the protocol must be %q or %q, not %q", POP3, IMAP, c.Protocol)
	case c.protocol() == IMAP && (!printable(c.Folder) || strings.Contains(c.Folder, "&")):
		return fmt.Errorf("the folder name %q has characters other than printable ASCII, or an &", c.Folder)
	case c.TLS != TLSImplicit && c.TLS != TLSStart && c.TLS != TLSNone:
		return fmt.Errorf("TLS must be %q, %q or %q, not %q", TLSImplicit, TLSStart, TLSNone, c.TLS)
	case c.TLS == TLSNone && !isLoopback(c.Host):
		return fmt.Errorf("a password is sent in plain text only to this machine, not to %s: use TLS", c.Host)
	}
	return nil
}

// printable reports whether s is printable ASCII only.
func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return false
		}
	}
	return true
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// Poller fetches the mail that comes back to Herald from a POP3 or IMAP mailbox,
// hands each message to its Handler and deletes the ones it took. Build
// it with NewPoller; the fields may be changed before Run.
type Poller struct {
	config func(context.Context) (PollerConfig, bool, error)
	handle Handler
	log    *slog.Logger

	// Timeout bounds connecting and every read or write that makes no
	// progress.
	Timeout time.Duration
	// PollTimeout bounds a whole poll, so that a server that trickles its
	// replies cannot hold the poller.
	PollTimeout time.Duration
	// Idle is how long the poller waits to read its settings again while
	// polling is off or they cannot be read.
	Idle time.Duration
	// MaxMessageBytes bounds one message; a bigger one is left in the
	// mailbox.
	MaxMessageBytes int

	// taken holds the unique ids of the messages handled whose deletion
	// the server has not confirmed, so they are deleted, not handled
	// again, when a poll ended before QUIT; mailbox names the mailbox
	// they are in.
	taken   map[string]bool
	mailbox string
}

// NewPoller returns a poller that reads its settings with config, which
// says whether polling is on, and hands each message to h; start it with
// Run.
func NewPoller(config func(context.Context) (PollerConfig, bool, error), h Handler, log *slog.Logger) (*Poller, error) {
	if config == nil || h == nil {
		return nil, errors.New("inbound: a poller needs its settings and a handler")
	}
	return &Poller{config: config, handle: h, log: log, Timeout: 30 * time.Second, PollTimeout: 15 * time.Minute, Idle: time.Minute,
		MaxMessageBytes: MaxMessageBytes, taken: map[string]bool{}}, nil
}

// Run polls until ctx ends, reading the settings before each poll. A poll
// that fails is logged; the next one tries again.
func (p *Poller) Run(ctx context.Context) error {
	for {
		wait := p.Idle
		cfg, on, err := p.config(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			p.log.Warn("mailbox: cannot read the mailbox settings", "err", err)
		case on:
			if err := p.poll(ctx, cfg); err != nil && ctx.Err() == nil {
				p.log.Warn("mailbox: poll failed; the next poll tries again", "protocol", cfg.protocol(), "host", cfg.Host, "err", err)
			}
			wait = cmp.Or(cfg.Every, time.Minute)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// mailboxConn is one session with a mailbox server, logged in.
type mailboxConn interface {
	login(user, pass string) error
	// list lists the messages, in order.
	list() ([]listing, error)
	// fetch retrieves a message of at most limit bytes.
	fetch(m listing, limit int) ([]byte, error)
	// remove marks a message for deletion.
	remove(m listing) error
	// commit deletes the messages marked and ends the session.
	commit() error
	// Close drops the connection; the marks are not committed.
	Close() error
}

// poll takes every message in the mailbox, in order, and ends at the
// first the handler refuses, leaving it and those after it for the next
// poll. The end of the session commits the deletions of those taken.
func (p *Poller) poll(ctx context.Context, cfg PollerConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, p.PollTimeout)
	defer cancel()
	// What was taken from another mailbox is nothing to this one.
	if id := fmt.Sprint(cfg.protocol(), cfg.TLS, cfg.Username, cfg.Host, cfg.port(), cfg.folder()); id != p.mailbox {
		p.mailbox, p.taken = id, map[string]bool{}
	}
	var (
		c   mailboxConn
		err error
	)
	if cfg.protocol() == IMAP {
		c, err = dialIMAP(ctx, cfg, p.Timeout)
	} else {
		c, err = dialPOP3(ctx, cfg, p.Timeout)
	}
	if err != nil {
		return fmt.Errorf("connect to %s: %w", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.port())), err)
	}
	defer c.Close()
	if err := c.login(cfg.Username, cfg.Password); err != nil {
		return err
	}
	msgs, err := c.list()
	if err != nil {
		return err
	}
	deleted, err := p.take(ctx, c, cfg.protocol(), msgs)
	if cerr := c.commit(); cerr != nil {
		return errors.Join(err, fmt.Errorf("the server kept the messages taken: %w", cerr))
	}
	for _, uid := range deleted {
		delete(p.taken, uid)
	}
	return err
}

// take hands the messages to the handler and marks those it took for
// deletion; it returns the unique ids of those marked.
func (p *Poller) take(ctx context.Context, c mailboxConn, via string, msgs []listing) ([]string, error) {
	var deleted []string
	for _, m := range msgs {
		if m.size > p.MaxMessageBytes {
			p.log.Warn("mailbox: message left in the mailbox: it is larger than allowed",
				"message", m.n, "bytes", m.size, "max", p.MaxMessageBytes)
			continue
		}
		if m.uid == "" || !p.taken[m.uid] {
			raw, err := c.fetch(m, p.MaxMessageBytes)
			if errors.Is(err, errNoMessage) {
				p.log.Warn("mailbox: message left in the mailbox", "message", m.n, "err", err)
				continue
			}
			if err != nil {
				return deleted, err
			}
			if err := p.handle(ctx, mailFromMailbox(raw, via)); err != nil {
				return deleted, fmt.Errorf("message %d left in the mailbox: %w", m.n, err)
			}
			if m.uid != "" {
				p.taken[m.uid] = true
			}
		}
		if err := c.remove(m); err != nil {
			return deleted, err
		}
		deleted = append(deleted, m.uid)
	}
	return deleted, nil
}
