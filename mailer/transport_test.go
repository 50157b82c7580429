package mailer

import (
	"context"
	"errors"
	"net"
	"testing"
)

func TestDown(t *testing.T) {
	t.Parallel()
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	for _, tc := range []struct {
		name string
		err  error
		down bool
	}{
		{"SMTP connect", &SendError{Stage: "connect", Temporary: true, Err: dial}, true},
		{"SMTP AUTH", &SendError{Stage: "auth", Code: 535, Err: errors.New("bad login")}, true},
		{"SMTP greylisting", &SendError{Stage: "rcpt", Code: 451, Temporary: true, Enhanced: "4.7.1"}, false},
		{"SES unreachable", &SendError{Stage: "ses", Temporary: true, Err: dial}, true},
		{"SES gave no answer in time", &SendError{Stage: "ses", Temporary: true, Err: context.DeadlineExceeded}, false},
		{"SES failing", &SendError{Stage: "ses", Code: 421, Temporary: true, Enhanced: "4.3.0"}, true},
		{"SES throttling", &SendError{Stage: "ses", Code: 421, Temporary: true, Enhanced: "4.7.0"}, false},
		{"SES refusing one message", &SendError{Stage: "ses", Code: 554, Enhanced: "5.7.1"}, false},
		{"SES sending paused", &SendError{Stage: "ses", Code: 554, Enhanced: "5.7.1", AccountRefused: true}, true},
		{"not a send error", errors.New("boom"), false},
	} {
		if got := Down(tc.err); got != tc.down {
			t.Errorf("%s: Down = %v, want %v", tc.name, got, tc.down)
		}
	}
}
