package mailer

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// TLS modes, as stored on a relay.
const (
	TLSNone     = "none"
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
)

// SMTPRelay says how to reach and authenticate with an SMTP server.
type SMTPRelay struct {
	Host     string
	Port     int
	TLS      string
	Username string
	Password string
	// HelloName is sent in EHLO; "localhost" when empty.
	HelloName string
	// TLSConfig overrides the TLS settings, for servers with private certificates.
	TLSConfig *tls.Config
	// Timeout bounds the dial and each command; 30 s when zero.
	Timeout time.Duration
}

// Result is what the server said when it accepted a message.
type Result struct {
	// Reply is the server's final answer to the message, like "250 2.0.0 Ok: queued as 4F2".
	Reply string
	// ProviderID is the id a sending service gave the message, such as SES's
	// message id, which its bounce and complaint notifications refer to.
	// Empty for SMTP relays.
	ProviderID string
	// Refused are the recipients of a message to several that the relay
	// refused for good while it took the message for the others, and
	// Deferred those it could not take yet: they are to be tried again,
	// alone, later.
	Refused, Deferred map[string]error
	// Replies, for a message to several that went in more than one
	// transaction, is the answer to the one that took each recipient.
	Replies map[string]string
}

// Note records a recipient's refusal in Refused or, when it is for now or
// the relay refuses the account rather than the recipient, Deferred.
func (r *Result) Note(to string, err error) {
	var se *SendError
	m := &r.Refused
	if !errors.As(err, &se) || se.Temporary || se.AccountRefused {
		m = &r.Deferred
	}
	if *m == nil {
		*m = map[string]error{}
	}
	(*m)[to] = err
}

// SendError explains why a relay refused or could not take a message.
type SendError struct {
	// Stage is the step that failed: connect, tls, auth, mail, rcpt or data.
	Stage string
	// Code is the SMTP reply code, or 0 when the server never answered.
	Code int
	// Temporary is true when trying again later can succeed.
	Temporary bool
	// Enhanced is the RFC 3463 status code, like "5.1.1", when the server gave one.
	Enhanced string
	// AccountRefused says the relay refuses everything from this account
	// or sender, such as SES with sending paused or an unverified domain:
	// no message can go through it until a person acts.
	AccountRefused bool
	Err            error
}

func (e *SendError) Error() string {
	return fmt.Sprintf("%s: %v", e.Stage, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// classify wraps err from stage with its SMTP code and whether it is temporary.
func classify(stage string, err error) error {
	se := &SendError{Stage: stage, Err: err, Temporary: true}
	var smtpErr *smtp.SMTPError
	if errors.As(err, &smtpErr) {
		se.Code = smtpErr.Code
		se.Temporary = smtpErr.Code < 500
		if c := smtpErr.EnhancedCode; c != (smtp.EnhancedCode{}) && c != smtp.NoEnhancedCode {
			se.Enhanced = fmt.Sprintf("%d.%d.%d", c[0], c[1], c[2])
		}
		se.Err = fmt.Errorf("%d %s", smtpErr.Code, formatEnhanced(smtpErr))
	}
	return se
}

func formatEnhanced(e *smtp.SMTPError) string {
	if e.EnhancedCode == (smtp.EnhancedCode{}) || e.EnhancedCode == smtp.NoEnhancedCode {
		return e.Message
	}
	c := e.EnhancedCode
	return fmt.Sprintf("%d.%d.%d %s", c[0], c[1], c[2], e.Message)
}

// Send delivers one message over an open connection and returns the
// server's answer. After a failure it resets the transaction so the
// connection can carry on; after a success the next message goes straight
// to MAIL FROM.
func Send(c *SMTPConn, from, to string, msg []byte) (Result, error) {
	res, err := send(c, from, []string{to}, msg, nil)
	if err != nil {
		c.Reset()
	}
	return res, err
}

// send runs one mail transaction, and for a message to several more as
// long as the relay takes only so many recipients at a time. When before
// is not nil, the message goes only once before has returned nil: after
// the relay took DATA, or before anything is sent where the message goes
// with its envelope in BDAT; an error from it abandons the message
// undelivered.
//
// A recipient of a message to several whom the relay refuses is left out
// of the transaction, in Result.Refused when for good and in
// Result.Deferred when for now, and the others get the message. When it
// takes none of them, send fails: for good only when every refusal was.
func send(c *SMTPConn, from string, to []string, msg []byte, before func() error) (Result, error) {
	res, err := transaction(c, from, to, msg, before)
	// A relay that takes only so many recipients a message answers the
	// rest 452 (RFC 5321, 4.5.3.1.10): they go in a further transaction
	// straight away, as long as each one takes some.
	for err == nil && len(res.Deferred) > 0 {
		var more []string
		for _, r := range to {
			if tooManyRecipients(res.Deferred[r]) {
				more = append(more, r)
			}
		}
		if len(more) == 0 || len(more) == len(to) {
			break
		}
		next, nerr := transaction(c, from, more, msg, nil)
		if nerr != nil {
			// This transaction took nobody: each is refused, for good or
			// for now, with its own answer or the transaction's. After a
			// failure that was not the relay's answer, the connection is
			// out of step with the replies, and carries nothing more.
			var se *SendError
			if !errors.As(nerr, &se) || se.Code == 0 || c.Reset() != nil {
				c.broken = true
			}
			for _, r := range more {
				delete(res.Deferred, r)
				res.Note(r, cmp.Or(next.Refused[r], next.Deferred[r], nerr))
			}
			break
		}
		if res.Replies == nil {
			res.Replies = map[string]string{}
			for _, r := range to {
				if res.Deferred[r] == nil && res.Refused[r] == nil {
					res.Replies[r] = res.Reply
				}
			}
		}
		for _, r := range more {
			delete(res.Deferred, r)
			if next.Refused[r] == nil && next.Deferred[r] == nil {
				res.Replies[r] = next.Reply
			}
		}
		for r, e := range next.Refused {
			res.Note(r, e)
		}
		for r, e := range next.Deferred {
			res.Note(r, e)
		}
		to = more
	}
	return res, err
}

// tooManyRecipients says whether a recipient was refused for now because
// the message already had as many as the relay takes at once.
func tooManyRecipients(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Code == 452 &&
		(se.Enhanced == "4.5.3" || strings.Contains(strings.ToLower(se.Err.Error()), "too many recipients"))
}

// transaction runs one: MAIL, a RCPT for each recipient, then the message
// for those taken, in BDAT when the relay takes it, or else DATA.
func transaction(c *SMTPConn, from string, to []string, msg []byte, before func() error) (Result, error) {
	var reply string
	var mailErr, dataErr error
	if c.chunking && c.pipelining {
		// The message goes with its envelope, so it waits first.
		if err := wait(before); err != nil {
			return Result{}, err
		}
		reply, mailErr, dataErr = c.chunked(from, to, msg)
	} else {
		mailErr, dataErr = c.envelope(from, to)
	}
	if mailErr != nil {
		return Result{}, classify("mail", mailErr)
	}
	var res Result
	var first error
	for i, r := range to {
		err := c.rcptErrs[i]
		if err == nil {
			continue
		}
		cerr := classify("rcpt", err)
		if len(to) == 1 {
			return Result{}, cerr
		}
		res.Note(r, cerr)
		if first == nil || Classify(first) != Temporary && Classify(cerr) == Temporary {
			// A refusal for now outranks one for good: the message
			// is then not failed.
			first = fmt.Errorf("no recipient taken; %s: %w", r, cerr)
		}
	}
	if len(res.Refused)+len(res.Deferred) == len(to) {
		return res, first
	}
	if dataErr != nil {
		return Result{}, classify("data", dataErr)
	}
	if !c.chunking || !c.pipelining {
		// Asked only now, as late as can be, so that what it waits for is
		// most likely over.
		if err := wait(before); err != nil {
			return Result{}, err
		}
		if err := c.writeData(msg); err != nil {
			return Result{}, classify("data", err)
		}
		var err error
		if reply, err = c.dataReply(); err != nil {
			return Result{}, classify("data", err)
		}
	}
	res.Reply = reply
	return res, nil
}

// wait runs before, if there is one: an error from it means the message
// must not go. The caller then drops the connection, and with it the
// transaction.
func wait(before func() error) error {
	if before == nil {
		return nil
	}
	if err := before(); err != nil {
		return &SendError{Stage: "data", Temporary: true, Err: err}
	}
	return nil
}

// SendOne connects to the relay, delivers one message and says goodbye.
func (r SMTPRelay) SendOne(ctx context.Context, from, to string, msg []byte) (Result, error) {
	c, err := r.Dial(ctx)
	if err != nil {
		return Result{}, err
	}
	defer c.Close()
	res, err := Send(c, from, to, msg)
	if err != nil {
		return res, err
	}
	c.Quit()
	return res, nil
}
