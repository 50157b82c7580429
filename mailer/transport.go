package mailer

import (
	"context"
	"errors"
	"net"
)

// Transport carries messages through one relay: a pool of SMTP
// connections, or an Amazon SES account. It is safe for concurrent use.
type Transport interface {
	Deliver(ctx context.Context, from, to string, msg []byte) (Result, error)
	// DeliverTo delivers one message to several recipients at once.
	DeliverTo(ctx context.Context, from string, to []string, msg []byte) (Result, error)
	// Close lets go of connections once the messages in flight are done.
	Close()
}

// Down reports whether a delivery failed because the relay itself could
// not be used (it could not be reached, TLS or AUTH failed, it dropped the
// connection or its service failed), rather than because it refused this
// message. Mail then does better through another relay.
func Down(err error) bool {
	var se *SendError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Stage {
	case "connect", "tls", "auth":
		return true
	case "ses":
		// Failing on its side, or refusing the whole account; throttling
		// (4.7.0) and refusals of one message are not outages. Nor is a
		// request that got no answer, unless it never reached SES: SES
		// may have taken the message.
		return se.AccountRefused || se.Temporary && (se.Enhanced == "4.3.0" || se.Code == 0 && unreached(se.Err))
	}
	return se.AccountRefused
}

// Failing reports whether a delivery failed because of the relay rather
// than the message: it is down (see Down), or it gave no answer at all,
// as a hung server that lets every command time out.
func Failing(err error) bool {
	var se *SendError
	if !errors.As(err, &se) {
		return false
	}
	return Down(err) || se.Temporary && se.Code == 0
}

// unreached reports whether a request failed before it reached the server:
// its address could not be looked up or its connection could not be made.
func unreached(err error) bool {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	return errors.As(err, &dnsErr) || errors.As(err, &opErr) && opErr.Op == "dial"
}
