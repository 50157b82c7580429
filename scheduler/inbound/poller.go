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
	TLSImplicit = "tls"      // TLS from the first byte, port 995
	TLSStart    = "starttls" // STLS after the greeting, port 110
	TLSNone     = "none"     // plain text, only to a loopback address
)

// PollerConfig says which mailbox to poll and how often.
type PollerConfig struct {
	Host string
	// Port is 995 for TLSImplicit and 110 otherwise when zero.
	Port int
	// TLS is TLSImplicit, TLSStart or TLSNone.
	TLS                string
	Username, Password string
	// Every is the time between polls; a minute when zero.
	Every time.Duration
	// RootCAs are the authorities to trust instead of the system's.
	RootCAs *x509.CertPool
}

func (c PollerConfig) port() int {
	switch {
	case c.Port != 0:
		return c.Port
	case c.TLS == TLSImplicit:
		return 995
	}
	return 110
}

// Validate says what is wrong with c, if anything.
func (c PollerConfig) Validate() error {
	switch {
	case c.Host == "":
		return errors.New("no mailbox server")
	case c.TLS != TLSImplicit && c.TLS != TLSStart && c.TLS != TLSNone:
		return fmt.Errorf("TLS must be %q, %q or %q, not %q", TLSImplicit, TLSStart, TLSNone, c.TLS)
	case c.TLS == TLSNone && !isLoopback(c.Host):
		return fmt.Errorf("a password is sent in plain text only to this machine, not to %s: use TLS", c.Host)
	}
	return nil
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// Poller fetches the mail that comes back to Herald from a POP3 mailbox,
// hands each message to its Handler and deletes the ones it took. Build
// it with NewPoller; the fields may be changed before Run.
type Poller struct {
	config func(context.Context) (PollerConfig, bool, error)
	handle Handler
	log    *slog.Logger

	// Timeout bounds connecting and every read or write that makes no
	// progress.
	Timeout time.Duration
	// Idle is how long the poller waits to read its settings again while
	// polling is off or they cannot be read.
	Idle time.Duration
	// MaxMessageBytes bounds one message; a bigger one is left in the
	// mailbox.
	MaxMessageBytes int

	// taken holds the unique ids of the messages handled whose deletion
	// the server has not confirmed, so they are deleted, not handled
	// again, when a poll ended before QUIT.
	taken map[string]bool
}

// NewPoller returns a poller that reads its settings with config, which
// says whether polling is on, and hands each message to h; start it with
// Run.
func NewPoller(config func(context.Context) (PollerConfig, bool, error), h Handler, log *slog.Logger) (*Poller, error) {
	if config == nil || h == nil {
		return nil, errors.New("inbound: a poller needs its settings and a handler")
	}
	return &Poller{config: config, handle: h, log: log, Timeout: 30 * time.Second, Idle: time.Minute,
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
			p.log.Warn("pop3: cannot read the mailbox settings", "err", err)
		case on:
			if err := p.poll(ctx, cfg); err != nil && ctx.Err() == nil {
				p.log.Warn("pop3: poll failed; the next poll tries again", "host", cfg.Host, "err", err)
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

// poll takes every message in the mailbox, in order, and ends at the
// first the handler refuses, leaving it and those after it for the next
// poll. QUIT commits the deletions of those taken.
func (p *Poller) poll(ctx context.Context, cfg PollerConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	c, err := dialPOP3(ctx, cfg, p.Timeout)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.port())), err)
	}
	defer c.Close()
	if err := c.login(cfg.Username, cfg.Password); err != nil {
		return err
	}
	msgs, err := p.listing(c)
	if err != nil {
		return err
	}
	deleted, err := p.take(ctx, c, msgs)
	if qerr := c.quit(); qerr != nil {
		return errors.Join(err, fmt.Errorf("QUIT, so the server kept the messages taken: %w", qerr))
	}
	for _, uid := range deleted {
		delete(p.taken, uid)
	}
	return err
}

// maxListing bounds a LIST or UIDL reply: some hundred thousand messages.
const maxListing = 8 << 20

// listing lists the mailbox's messages with their sizes and unique ids.
func (p *Poller) listing(c *pop3Client) ([]listing, error) {
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

// take hands the messages to the handler and marks those it took for
// deletion; it returns the unique ids of those marked.
func (p *Poller) take(ctx context.Context, c *pop3Client, msgs []listing) ([]string, error) {
	var deleted []string
	for _, m := range msgs {
		if m.size > p.MaxMessageBytes {
			p.log.Warn("pop3: message left in the mailbox: it is larger than allowed",
				"message", m.n, "bytes", m.size, "max", p.MaxMessageBytes)
			continue
		}
		if m.uid == "" || !p.taken[m.uid] {
			// LIST may count line ends as one byte where RETR sends two.
			raw, err := c.multi("RETR "+strconv.Itoa(m.n), 2*p.MaxMessageBytes)
			if err != nil {
				return deleted, fmt.Errorf("RETR %d: %w", m.n, err)
			}
			if err := p.handle(ctx, mailFromPOP3(raw)); err != nil {
				return deleted, fmt.Errorf("message %d left in the mailbox: %w", m.n, err)
			}
			if m.uid != "" {
				p.taken[m.uid] = true
			}
		}
		if _, err := c.cmd("DELE " + strconv.Itoa(m.n)); err != nil {
			return deleted, fmt.Errorf("DELE %d: %w", m.n, err)
		}
		deleted = append(deleted, m.uid)
	}
	return deleted, nil
}
