package mailer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/emersion/go-smtp"
)

// readReply reads a reply, of one line or several, the way go-smtp's
// client does with textproto: when its code is not want (or, for a want of
// two digits, does not start with them; any code for a want of 0) it is an
// *smtp.SMTPError. With keep it returns the reply, code and text, its lines
// joined with LF; else nothing, to spare the allocation.
func (c *SMTPConn) readReply(want int, keep bool) (string, error) {
	line, err := c.readLine()
	if err != nil {
		return "", err
	}
	code, more, ok := parseReplyLine(line)
	if !ok {
		return "", textproto.ProtocolError(fmt.Sprintf("malformed reply: %q", line))
	}
	c.reply = append(c.reply[:0], line...)
	if len(c.reply) == 3 {
		c.reply = append(c.reply, ' ')
	}
	c.reply[3] = ' '
	for more {
		if len(c.reply) > maxReply {
			return "", textproto.ProtocolError(fmt.Sprintf("a reply of more than %d bytes", maxReply))
		}
		if line, err = c.readLine(); err != nil {
			return "", err
		}
		c.reply = append(c.reply, '\n')
		code2, more2, ok := parseReplyLine(line)
		if !ok || code2 != code {
			// As textproto does: an odd line is text, and the reply goes on.
			c.reply = append(c.reply, line...)
			continue
		}
		c.reply = append(c.reply, line[min(4, len(line)):]...)
		more = more2
	}
	if want >= 100 && code != want || want >= 10 && want < 100 && code/10 != want {
		return "", replyError(code, string(c.reply[4:]))
	}
	if !keep {
		return "", nil
	}
	return strings.TrimSpace(string(c.reply)), nil
}

// maxReply bounds a reply of several lines: RFC 5321 (4.5.3.1.5) gives a
// line 512 bytes, and a relay's reply is a few of them at most.
const maxReply = 16 << 10

// readLine reads one line of a reply, without its CRLF.
func (c *SMTPConn) readLine() ([]byte, error) {
	line, err := c.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, textproto.ProtocolError("reply line too long")
	}
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1]
	return bytes.TrimSuffix(line, []byte{'\r'}), nil
}

// parseReplyLine reads the code of a reply line, "250 text" or, when more
// lines follow, "250-text", as textproto does; or "250" alone, which RFC
// 5321's grammar allows (4.2) and textproto does not.
func parseReplyLine(line []byte) (code int, more, ok bool) {
	if len(line) < 3 || len(line) > 3 && line[3] != ' ' && line[3] != '-' {
		return 0, false, false
	}
	for _, d := range line[:3] {
		if d < '0' || d > '9' {
			return 0, false, false
		}
		code = code*10 + int(d-'0')
	}
	return code, len(line) > 3 && line[3] == '-', code >= 100
}

// replyError is the error go-smtp's client makes of a refusal: the code,
// and the enhanced status code (RFC 2034), when the text starts with one,
// taken from the start of each line.
func replyError(code int, text string) *smtp.SMTPError {
	e := &smtp.SMTPError{Code: code, Message: text}
	first, rest, ok := strings.Cut(text, " ")
	if !ok {
		return e
	}
	parts := strings.Split(first, ".")
	if len(parts) != 3 {
		return e
	}
	var enh smtp.EnhancedCode
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return e
		}
		enh[i] = n
	}
	e.EnhancedCode = enh
	e.Message = strings.ReplaceAll(rest, "\n"+first+" ", "\n")
	return e
}

// validateLine refuses what would break a command line in two, as go-smtp's
// client does.
func validateLine(s string) error {
	if strings.ContainsAny(s, "\n\r") {
		return errors.New("smtp: a line must not contain CR or LF")
	}
	return nil
}
