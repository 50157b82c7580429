package outbound

import (
	"errors"
	"fmt"
	"time"

	"herald/mailer"
)

// retryAt is the one rule for a message whose attempt failed for now, in
// campaigns and transactional mail alike: when to try it next, after
// mailer.RetryDelay, or, once the waits before its retries have added up to
// mailer.RetryFor, to give up. attempts counts this attempt. It is counted
// from the message's own attempts, so a campaign held for weeks by a
// warm-up still gives each message its three days.
func retryAt(attempts int, first time.Duration, now time.Time) (next time.Time, giveUp bool) {
	if mailer.RetriesSpent(attempts, first) {
		return time.Time{}, true
	}
	return now.Add(mailer.RetryDelay(attempts, first)), false
}

// answerOf is what is recorded of a failed attempt: the relay's answer, or
// in words what became of the connection when there was none.
func answerOf(err error) string {
	var se *mailer.SendError
	if errors.As(err, &se) && se.Code == 0 {
		return FailureDetail(err)
	}
	return err.Error()
}

// gaveUp is the answer recorded for a message given up on.
func gaveUp(err error) string {
	return fmt.Sprintf("gave up after %d days of temporary failures: %v", int(mailer.RetryFor/(24*time.Hour)), err)
}
