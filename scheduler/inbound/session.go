package inbound

import (
	"errors"
	"io"
	"slices"
	"time"

	"github.com/emersion/go-smtp"
)

// The same refusal for every address Herald does not take mail for, so
// the listener tells nobody which addresses exist anywhere.
var errNoSuchRecipient = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
	Message: "No such recipient: this server takes only bounces and unsubscribe requests"}

// errTryLater answers a message that could not be committed; the cause is
// logged, not told to the sender.
var errTryLater = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
	Message: "Message not processed, try again later"}

// session is one SMTP connection's transaction state.
type session struct {
	rc   *receiver
	conn *smtp.Conn
	from string
	to   []string
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !Accepts(to) {
		return errNoSuchRecipient
	}
	s.to = append(s.to, to)
	return nil
}

// Data reads the message once it has a turn, and answers only after the
// handler has committed it.
func (s *session) Data(r io.Reader) error {
	rc := s.rc
	if !rc.begin() {
		return errTryLater
	}
	defer rc.wg.Done()
	select {
	case rc.turns <- struct{}{}:
		defer func() { <-rc.turns }()
	case <-rc.ctx.Done():
		return errTryLater
	}
	s.conn.Conn().SetReadDeadline(time.Now().Add(rc.l.DataTimeout))
	raw, err := io.ReadAll(r)
	var refusal *smtp.SMTPError
	switch {
	case errors.As(err, &refusal) || errors.Is(err, smtp.ErrTooLongLine):
		return err // too big, or not mail: final
	case err != nil:
		return errTryLater
	}
	m := Mail{From: s.from, To: slices.Clone(s.to), Raw: raw, Via: "smtp"}
	if err := rc.l.handle(rc.ctx, m); err != nil {
		rc.l.log.Warn("inbound mail not taken; the sender will retry",
			"remote", s.conn.Conn().RemoteAddr().String(), "from", s.from, "to", s.to, "err", err)
		return errTryLater
	}
	return nil
}
