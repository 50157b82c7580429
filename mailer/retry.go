package mailer

import (
	"errors"
	"math/rand/v2"
	"strings"
	"time"
)

// Class is what a delivery attempt's outcome means for the recipient.
type Class int

// The classes of outcome.
const (
	// Delivered: the relay took the message.
	Delivered Class = iota
	// Temporary: try again later (4xx, timeouts, dropped connections, throttling).
	Temporary
	// Permanent: the relay refused the message for good (5xx).
	Permanent
	// HardBounce: the mailbox does not exist (5.1.x); stop mailing the address.
	HardBounce
)

// Classify sorts the error of a delivery attempt. Errors that are not a
// relay's answer, such as a cancelled context, are temporary: nothing says
// the message cannot go later.
func Classify(err error) Class {
	if err == nil {
		return Delivered
	}
	var se *SendError
	if !errors.As(err, &se) || se.Temporary {
		return Temporary
	}
	if strings.HasPrefix(se.Enhanced, "5.1.") && se.Stage == "rcpt" || se.Enhanced == "5.1.1" {
		return HardBounce
	}
	return Permanent
}

// Retry policy: the first retry comes after the first delay, each later one
// after twice the one before, up to MaxRetryDelay, with a fifth either way at
// random so retries from one outage do not arrive together. After RetryFor
// a temporary failure counts as permanent, as an MTA gives up after days.
const (
	MaxRetryDelay = 4 * time.Hour
	RetryFor      = 72 * time.Hour
)

// RetryDelay is how long to wait before the given attempt, counting from 1
// for the first retry.
func RetryDelay(attempt int, first time.Duration) time.Duration {
	d := first
	for i := 1; i < attempt && d < MaxRetryDelay; i++ {
		d *= 2
	}
	d = min(d, MaxRetryDelay)
	jitter := time.Duration((rand.Float64()*0.4 - 0.2) * float64(d))
	return d + jitter
}

// RetriesSpent reports whether a message whose attempts, counting this one,
// have all failed temporarily has been retried for RetryFor: the delays
// before its retries add up to that. It is counted from the message's own
// attempts, so a campaign that runs for weeks under a warm-up still gives
// each message its three days.
func RetriesSpent(attempts int, first time.Duration) bool {
	var waited time.Duration
	d := first
	for i := 1; i < attempts && waited < RetryFor; i++ {
		waited += min(d, MaxRetryDelay)
		d *= 2
	}
	return waited >= RetryFor
}
