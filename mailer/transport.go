package mailer

import (
	"context"
	"errors"
)

// Transport carries messages through one relay: a pool of SMTP
// connections, or an Amazon SES account. It is safe for concurrent use.
type Transport interface {
	Deliver(ctx context.Context, from, to string, msg []byte) (Result, error)
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
		// Unreachable, or failing on its side; throttling (4.7.0) and
		// refusals are not outages.
		return se.Temporary && (se.Code == 0 || se.Enhanced == "4.3.0")
	}
	return false
}
