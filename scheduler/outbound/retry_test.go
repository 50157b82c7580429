package outbound

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"herald/mailer"
)

// TestRetryAtGivesUpAfterThreeDaysOfWaits walks one message through its
// temporary failures: each retry comes later than the one before, within
// the jitter, and the attempt whose waits add up to mailer.RetryFor gives
// up, for campaigns and transactional mail alike.
func TestRetryAtGivesUpAfterThreeDaysOfWaits(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	first := 30 * time.Second
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		next, giveUp := retryAt(attempt, first, now)
		if giveUp {
			if waited < mailer.RetryFor {
				t.Fatalf("gave up at attempt %d after %v of waits, want at least %v", attempt, waited, mailer.RetryFor)
			}
			if attempt < 20 || attempt > 40 {
				t.Errorf("gave up at attempt %d, want about 25 with a first wait of 30 s", attempt)
			}
			break
		}
		wait := next.Sub(now)
		base := min(first<<(attempt-1), mailer.MaxRetryDelay)
		if attempt > 20 {
			base = mailer.MaxRetryDelay
		}
		if wait < base*8/10 || wait > base*12/10 {
			t.Fatalf("attempt %d: waits %v, want %v give or take a fifth", attempt, wait, base)
		}
		waited += base
	}
	if got := gaveUp(errors.New("451 try later")); !strings.HasPrefix(got, "gave up after 3 days of temporary failures: 451") {
		t.Errorf("gaveUp: got %q", got)
	}
}

// TestAnswerOf records a relay's answer as it came, and a failure with no
// answer in words, the error kept.
func TestAnswerOf(t *testing.T) {
	refused := &mailer.SendError{Stage: "rcpt", Code: 451, Temporary: true, Err: errors.New("451 4.7.1 Greylisted")}
	if got := answerOf(refused); got != refused.Error() {
		t.Errorf("answerOf a refusal: got %q, want %q", got, refused.Error())
	}
	broke := &mailer.SendError{Stage: "data", Temporary: true, Err: io.EOF}
	if got := answerOf(broke); !strings.Contains(got, "before it answered DATA") || !strings.Contains(got, "EOF") {
		t.Errorf("answerOf a broken connection: got %q, want it in words with the error", got)
	}
}
