package mailer

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	refusal := func(stage string, code int, enh smtp.EnhancedCode) error {
		return classify(stage, &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: "x"})
	}
	for _, tc := range []struct {
		name string
		err  error
		want Class
	}{
		{"accepted", nil, Delivered},
		{"421 at connect", refusal("connect", 421, smtp.EnhancedCode{4, 3, 2}), Temporary},
		{"451 greylisted", refusal("rcpt", 451, smtp.EnhancedCode{4, 7, 1}), Temporary},
		{"454 at auth", refusal("auth", 454, smtp.EnhancedCode{4, 7, 0}), Temporary},
		{"dropped connection", classify("data", errors.New("EOF")), Temporary},
		{"cancelled", fmt.Errorf("send: %w", context.Canceled), Temporary},
		{"550 no such user", refusal("rcpt", 550, smtp.EnhancedCode{5, 1, 1}), HardBounce},
		{"553 bad mailbox syntax at rcpt", refusal("rcpt", 553, smtp.EnhancedCode{5, 1, 3}), HardBounce},
		{"550 5.1.1 after data", refusal("data", 550, smtp.EnhancedCode{5, 1, 1}), HardBounce},
		{"554 spam", refusal("data", 554, smtp.EnhancedCode{5, 7, 1}), Permanent},
		{"550 without enhanced code", refusal("rcpt", 550, smtp.NoEnhancedCode), Permanent},
		{"552 too big", refusal("data", 552, smtp.EnhancedCode{5, 3, 4}), Permanent},
	} {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	first := 30 * time.Second
	for _, tc := range []struct {
		attempt int
		base    time.Duration
	}{{1, 30 * time.Second}, {2, time.Minute}, {3, 2 * time.Minute}, {10, MaxRetryDelay}, {400, MaxRetryDelay}} {
		for range 50 {
			d := RetryDelay(tc.attempt, first)
			if d < tc.base*8/10 || d > tc.base*12/10 {
				t.Fatalf("attempt %d: got %v, want within a fifth of %v", tc.attempt, d, tc.base)
			}
		}
	}
	seen := map[time.Duration]bool{}
	for range 20 {
		seen[RetryDelay(1, first)] = true
	}
	if len(seen) < 2 {
		t.Errorf("20 delays for the same attempt were all %v; want jitter", seen)
	}
}

func TestRetriesSpent(t *testing.T) {
	t.Parallel()
	first := 30 * time.Second
	// 30 s, 1, 2, 4, … min up to 4 h, then 4 h a time: 72 h is reached
	// after 9 growing delays (4 h 15 min 30 s) and 17 of 4 h.
	for _, tc := range []struct {
		attempts int
		spent    bool
	}{{1, false}, {2, false}, {10, false}, {26, false}, {27, true}, {40, true}} {
		if got := RetriesSpent(tc.attempts, first); got != tc.spent {
			t.Errorf("RetriesSpent(%d) = %v, want %v", tc.attempts, got, tc.spent)
		}
	}
}
