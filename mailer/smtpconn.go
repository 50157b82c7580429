package mailer

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"
)

// SMTPConn is an open connection to an SMTP relay, past TLS and AUTH, that
// carries one message after another. go-smtp's client sets it up; the mail
// transactions are Herald's own, because go-smtp's client sends one
// command a round trip and dot-stuffs DATA a byte at a time. Here, when the
// relay offers PIPELINING (RFC 2920) and CHUNKING (RFC 3030), MAIL, the
// RCPTs and the message in a BDAT go in one write; with PIPELINING alone,
// MAIL, the RCPTs and DATA go in one write, and the message in one of its
// own.
type SMTPConn struct {
	conn net.Conn
	r    *bufio.Reader
	// tcp is the TCP connection under conn, which is it or TLS over it.
	tcp net.Conn
	// pipelining says the relay takes MAIL, RCPT and DATA at once;
	// chunking that it takes BDAT; eightBit that it takes BODY=8BITMIME,
	// which go-smtp's client adds.
	pipelining, chunking, eightBit bool
	// broken says the connection can carry nothing more, as after a
	// failure part way through writing a message.
	broken bool
	// commandTimeout bounds each command, its reply and each write of a
	// message; submissionTimeout the reply to the message.
	commandTimeout, submissionTimeout time.Duration

	// out is the next write, kept from message to message with the rest
	// of what a transaction needs, so that each does not allocate anew;
	// data a chunk of a message whose lines had to be made CRLF, and bufs
	// what goes in one write with BDAT.
	out, data []byte
	bufs      net.Buffers
	// sent is how much of out has gone, of commands sent one at a time.
	sent int
	// rcptErrs is the refusal of each recipient of the transaction.
	rcptErrs []error
	// reply collects the lines of the reply being read.
	reply []byte
}

// Close closes the connection without a word to the relay.
func (c *SMTPConn) Close() error { return c.conn.Close() }

// Reset abandons the transaction under way, so that the connection can
// carry the next message. Unlike go-smtp's client, it does not repeat EHLO
// after RSET; still, it is for after a failure only, as nothing needs
// resetting after a message the relay took.
func (c *SMTPConn) Reset() error { return c.command("RSET", 250) }

// Quit says goodbye to the relay and closes the connection.
func (c *SMTPConn) Quit() error {
	err := c.command("QUIT", 221)
	if cerr := c.conn.Close(); err == nil {
		err = cerr
	}
	return err
}

// command sends one command and reads its reply.
func (c *SMTPConn) command(cmd string, want int) error {
	c.out = append(append(c.out[:0], cmd...), "\r\n"...)
	if err := c.write(c.out); err != nil {
		return err
	}
	_, err := c.readReply(want, false)
	return err
}

// expire sets the deadline of the next reads and writes.
func (c *SMTPConn) expire(d time.Duration) {
	c.conn.SetDeadline(time.Now().Add(d))
}

// errNotSent is the refusal of a DATA that was not sent, as when no
// recipient was taken.
var errNotSent = errors.New("smtp: DATA not sent, as no recipient was taken")

// envelope opens a transaction: MAIL, a RCPT for each recipient and DATA,
// all in one write when the relay pipelines, or else one at a time and only
// as far as they make sense. It returns the relay's refusal of MAIL and of
// DATA, and leaves each recipient's in c.rcptErrs. DATA counts as refused
// when it was not sent, as when no recipient was taken. An error that is
// not the relay's answer leaves the commands after it unanswered: it is
// theirs too.
func (c *SMTPConn) envelope(from string, to []string) (mailErr, dataErr error) {
	rcpts, err := c.appendEnvelope(from, to)
	if err != nil {
		return err, errNotSent
	}
	if rcpts > 0 {
		c.out = append(c.out, "DATA\r\n"...)
	}
	// The group goes whole, however many recipients: the relay stops
	// reading it only if its replies, some 30 bytes each, fill the socket
	// buffers on their way back unread, which takes thousands of them,
	// not the hundred at most of a message of Herald's. So the write
	// cannot deadlock, as RFC 2920 warns a pipelining client may.
	if c.pipelining {
		if err := c.write(c.out); err != nil {
			return err, err
		}
	}

	mailErr, taken, err := c.envelopeReplies(to, c.commandTimeout)
	if err != nil {
		return mailErr, err
	}
	if rcpts == 0 || taken == 0 && !c.pipelining {
		return mailErr, errNotSent
	}
	if dataErr = c.answer(354, c.commandTimeout); dataErr != nil || mailErr == nil && taken > 0 {
		return mailErr, dataErr
	}
	// The relay took DATA with no recipient, as RFC 2920 (3.1) allows:
	// a lone dot ends the message it waits for.
	if err := c.command(".", 0); err != nil {
		return mailErr, err
	}
	return mailErr, errNotSent
}

// appendEnvelope starts c.out with MAIL and a RCPT for each recipient, but
// for those that would break the command line, whose refusal it leaves in
// c.rcptErrs. It says how many RCPTs there are.
func (c *SMTPConn) appendEnvelope(from string, to []string) (rcpts int, err error) {
	if err := validateLine(from); err != nil {
		return 0, err
	}
	c.rcptErrs = append(c.rcptErrs[:0], make([]error, len(to))...)
	c.out = append(c.out[:0], "MAIL FROM:<"...)
	c.out = append(c.out, from...)
	c.out = append(c.out, '>')
	if c.eightBit {
		c.out = append(c.out, " BODY=8BITMIME"...)
	}
	c.out = append(c.out, "\r\n"...)
	c.sent = 0
	for i, r := range to {
		if c.rcptErrs[i] = validateLine(r); c.rcptErrs[i] == nil {
			c.out = append(c.out, "RCPT TO:<"...)
			c.out = append(c.out, r...)
			c.out = append(c.out, ">\r\n"...)
			rcpts++
		}
	}
	return rcpts, nil
}

// envelopeReplies reads the replies to MAIL and the RCPTs, sent already
// when the relay pipelines, or else sent one at a time, as far as they make
// sense, each within timeout, or else within the deadline set when it is 0.
// It returns the refusal of MAIL, leaves each recipient's in c.rcptErrs
// and says how many the relay took; err is a failure to get an answer,
// which leaves the commands after it unanswered.
func (c *SMTPConn) envelopeReplies(to []string, timeout time.Duration) (mailErr error, taken int, err error) {
	if mailErr = c.answer(250, timeout); mailErr != nil && (!c.pipelining || !refusal(mailErr)) {
		return mailErr, 0, errNotSent
	}
	for i := range to {
		if c.rcptErrs[i] != nil {
			continue
		}
		err := c.answer(25, timeout)
		if err == nil {
			taken++
			continue
		}
		if !refusal(err) {
			for j := i; j < len(to); j++ {
				c.rcptErrs[j] = cmp.Or(c.rcptErrs[j], err)
			}
			return mailErr, taken, err
		}
		c.rcptErrs[i] = err
	}
	return mailErr, taken, nil
}

// chunked runs a whole transaction where the relay pipelines and takes
// BDAT: MAIL, the RCPTs and the message in one BDAT, all in one write as
// long as the message is no larger than dataChunk, or else in a write for
// each further chunk of it. The relay reads a BDAT's data even when it
// refuses the command, so nothing waits for a reply: if it refuses MAIL
// or every recipient, it refuses the BDAT too and drops the message. Nor
// can the writes deadlock: the replies they may wait behind are a few
// dozen bytes. It returns the relay's answer to the message, and its
// refusal of MAIL and of the message, leaving each recipient's in
// c.rcptErrs, as envelope does.
//
// The relay may answer nothing before it has the message and queued it,
// as Postfix does when the commands and the message come in one read, so
// every reply is waited for as long as the message's own, and a failure
// to get them is the message's, not MAIL's: the relay may have it, so it
// does not go again at once over a new connection. (A connection the
// relay dropped while idle is found out before it is used; see alive.)
func (c *SMTPConn) chunked(from string, to []string, msg []byte) (reply string, mailErr, dataErr error) {
	rcpts, err := c.appendEnvelope(from, to)
	if err != nil {
		return "", err, errNotSent
	}
	if rcpts == 0 {
		// Nobody to send to: the MAIL alone, to be reset.
		if err := c.write(c.out); err != nil {
			return "", err, err
		}
		mailErr, _, err := c.envelopeReplies(to, c.commandTimeout)
		return "", cmp.Or(mailErr, err), errNotSent
	}
	bare := bareLFs(msg)
	c.out = append(c.out, "BDAT "...)
	c.out = strconv.AppendInt(c.out, int64(len(msg)+bare+len(lastLineEnd(msg))), 10)
	c.out = append(c.out, " LAST\r\n"...)
	if err := c.writeChunks(msg, bare > 0); err != nil {
		// The relay did not get the whole message, so it does not have
		// it; what it said before it stopped reading may say why. The
		// connection, part way through a BDAT, can carry nothing more.
		c.broken = true
		c.expire(min(c.commandTimeout, time.Second))
		if mailErr, _, rerr := c.envelopeReplies(to, 0); rerr != nil || mailErr != nil {
			return "", cmp.Or(mailErr, err), errNotSent
		}
		if _, rerr := c.readReply(250, false); refusal(rerr) {
			return "", nil, rerr
		}
		return "", err, errNotSent
	}

	c.expire(c.submissionTimeout)
	mailErr, _, err = c.envelopeReplies(to, 0)
	switch {
	case mailErr != nil && !refusal(mailErr):
		return "", nil, mailErr
	case err != nil:
		// Not the recipients' refusal either: the message's failure.
		for i, e := range c.rcptErrs {
			if e == err {
				c.rcptErrs[i] = nil
			}
		}
		return "", mailErr, err
	}
	reply, err = c.readReply(250, true)
	return reply, mailErr, err
}

// writeChunks writes c.out, the commands up to the BDAT, with msg after
// them, its lines made CRLF when it has bare LFs.
func (c *SMTPConn) writeChunks(msg []byte, bare bool) error {
	for rest := msg; ; {
		n := chunkEnd(rest)
		data, end := rest[:n], []byte(nil)
		if bare && hasBareLF(data) {
			c.data = appendLines(c.data[:0], data, false)
			data = c.data
		}
		if rest = rest[n:]; len(rest) == 0 {
			end = lastLineEnd(msg)
		}
		c.expire(c.commandTimeout)
		if c.conn == c.tcp {
			// WriteTo empties the Buffers it is called on: a copy, so
			// that c.bufs keeps its room.
			c.bufs = append(c.bufs[:0], c.out, data, end)
			bufs := c.bufs
			if _, err := bufs.WriteTo(c.conn); err != nil {
				return err
			}
		} else {
			// TLS writes each buffer as a record of its own: one write.
			c.out = append(append(c.out, data...), end...)
			if _, err := c.conn.Write(c.out); err != nil {
				return err
			}
		}
		c.out = c.out[:0]
		if len(rest) == 0 {
			return nil
		}
	}
}

// alive reports whether the relay has said nothing since the connection's
// last reply and not closed it: a relay that drops an idle connection
// closes it, with a 421 or without a word. It peeks at the socket without
// waiting.
func (c *SMTPConn) alive() bool {
	if c.broken || c.r.Buffered() > 0 {
		return false
	}
	sc, ok := c.tcp.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	// The last message's deadline may have passed while the connection
	// was idle; the next sets its own.
	c.tcp.SetDeadline(time.Time{})
	alive := false
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Nothing to read yet: EAGAIN. A byte, the end of the stream (no
		// error) or any other error: done with.
		alive = rerr == syscall.EAGAIN
		return true
	})
	return err == nil && alive
}

// answer reads the reply to the next command in c.out: sent already when
// the relay pipelines, or else sent now; within timeout, or else within
// the deadline already set when it is 0.
func (c *SMTPConn) answer(want int, timeout time.Duration) error {
	if timeout > 0 {
		c.expire(timeout)
	}
	if !c.pipelining {
		end := c.sent + bytes.IndexByte(c.out[c.sent:], '\n') + 1
		if _, err := c.conn.Write(c.out[c.sent:end]); err != nil {
			return err
		}
		c.sent = end
	}
	_, err := c.readReply(want, false)
	return err
}

// refusal reports whether err is the relay's answer, rather than a failure
// to get one.
func refusal(err error) bool {
	_, ok := err.(*smtp.SMTPError)
	return ok
}

// write writes b within the command timeout.
func (c *SMTPConn) write(b []byte) error {
	c.expire(c.commandTimeout)
	_, err := c.conn.Write(b)
	return err
}

// writeData writes msg, dot-stuffed, after DATA was taken, with the end of
// the data: in one write as long as it is no larger than dataChunk.
func (c *SMTPConn) writeData(msg []byte) error {
	rest := msg
	for {
		n := chunkEnd(rest)
		c.out = appendDotStuffed(c.out[:0], rest[:n])
		rest = rest[n:]
		if len(rest) == 0 {
			c.out = appendDataEnd(c.out, msg)
		}
		if err := c.write(c.out); err != nil {
			return err
		}
		if len(rest) == 0 {
			return nil
		}
	}
}

// dataReply reads the relay's answer to the message, like "250 2.0.0 Ok:
// queued as 4F2".
func (c *SMTPConn) dataReply() (string, error) {
	c.expire(c.submissionTimeout)
	return c.readReply(250, true)
}
