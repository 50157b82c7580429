// Package inbound receives the mail that comes back to Herald: bounces,
// complaints and mailto unsubscribe requests. A Listener takes it over SMTP
// when the owner points an MX record at Herald; a Poller fetches it from a
// POP3 or IMAP mailbox when the return path is an ordinary mailbox
// elsewhere. Both
// hand every message to one Handler and keep it (the sender retries, or it
// stays in the mailbox) until the Handler says it is committed. What a
// message means is not this package's business.
package inbound

import (
	"context"
	"strings"
)

// Handler takes one received message. It returns only after what the
// message says is committed; an error makes the sender (or the mailbox)
// keep it.
type Handler func(ctx context.Context, m Mail) error

// Mail is one received message.
type Mail struct {
	// From is the envelope sender, "" for a bounce; from a mailbox, the
	// Return-Path the delivering server recorded.
	From string
	// To holds the envelope recipients or, from a mailbox, the
	// Delivered-To (else To) addresses.
	To []string
	// Raw is the message as received, headers and body.
	Raw []byte
	// Via says how it came: "smtp", "pop3" or "imap".
	Via string
}

// MaxMessageBytes bounds a received message, over SMTP, POP3 and IMAP.
// Bounces quote at most the headers, or the first part, of the message
// they return; a complete 10 MB newsletter is already unusual.
const MaxMessageBytes = 10 << 20

// Local parts that Herald takes mail for. A VERP return path or a mailto
// unsubscribe address carries a token after the "+".
const (
	bouncesLocal     = "bounces"
	unsubscribeLocal = "unsubscribe"
)

// Accepts reports whether addr is one of the addresses Herald takes mail
// for: a local part of bounces, unsubscribe, or either with "+token", in
// any case, at any domain (the domain is whatever the owner points MX at).
func Accepts(addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return false
	}
	local := strings.ToLower(addr[:at])
	for _, base := range []string{bouncesLocal, unsubscribeLocal} {
		if local == base {
			return true
		}
		if token, ok := strings.CutPrefix(local, base+"+"); ok && token != "" {
			return true
		}
	}
	return false
}
