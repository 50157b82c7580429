package ses_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"herald/mailer"
	"herald/mailer/ses"
)

// sesError answers like SES does when it refuses a call: the error type in
// X-Amzn-ErrorType, the message in the JSON body.
func sesError(status int, errorType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if errorType != "" {
			w.Header().Set("X-Amzn-ErrorType", errorType)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func TestDeliverErrors(t *testing.T) {
	tests := []struct {
		name         string
		answer       http.HandlerFunc
		want         mailer.Class
		wantCode     int
		wantEnhanced string
		wantText     string
	}{
		{"throttled", sesError(429, "TooManyRequestsException", `{"message":"Maximum sending rate exceeded."}`),
			mailer.Temporary, 421, "4.7.0", "421 4.7.0 TooManyRequestsException (HTTP 429): Maximum sending rate exceeded."},
		{"daily quota, type in body", sesError(400, "", `{"__type":"LimitExceededException","message":"Daily message quota exceeded."}`),
			mailer.Temporary, 421, "4.7.0", "Daily message quota exceeded."},
		{"throttling code outside the SES model", sesError(400, "ThrottlingException", `{"message":"Rate exceeded"}`),
			mailer.Temporary, 421, "4.7.0", "ThrottlingException"},
		{"rejected", sesError(400, "MessageRejected:http://internal.amazon.com/coral/com.amazonaws.sesv2/", `{"message":"Email address is not verified."}`),
			mailer.Permanent, 554, "5.7.1", "554 5.7.1 MessageRejected (HTTP 400): Email address is not verified."},
		{"rejected address is no hard bounce", sesError(400, "MessageRejected", `{"message":"Address blacklisted."}`),
			mailer.Permanent, 554, "5.7.1", "Address blacklisted."},
		{"sender domain not verified", sesError(400, "MailFromDomainNotVerifiedException", `{"message":"MAIL FROM domain not verified"}`),
			mailer.Permanent, 554, "5.7.1", "MailFromDomainNotVerifiedException"},
		{"sending paused", sesError(400, "SendingPausedException", `{"message":"Sending is paused for this account."}`),
			mailer.Permanent, 554, "5.7.1", "SendingPausedException"},
		{"no such configuration set", sesError(404, "NotFoundException", `{"message":"Configuration set <x> does not exist."}`),
			mailer.Permanent, 554, "5.0.0", "does not exist"},
		{"bad request, type as code", sesError(400, "", `{"code":"BadRequestException","message":"Illegal address"}`),
			mailer.Permanent, 554, "5.0.0", "BadRequestException (HTTP 400): Illegal address"},
		{"wrong keys", sesError(403, "UnrecognizedClientException", `{"message":"The security token included in the request is invalid."}`),
			mailer.Permanent, 554, "5.7.1", "UnrecognizedClientException"},
		{"internal error, empty body", sesError(500, "", ""),
			mailer.Temporary, 421, "4.3.0", "421 4.3.0 HTTP 500: SES gave no reason"},
		{"proxy page instead of JSON", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "<html>Service Unavailable</html>", http.StatusServiceUnavailable)
		}, mailer.Temporary, 421, "4.3.0", "HTTP 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolateAWS(t)
			srv, received := fakeSES(t, tt.answer)
			c := newClient(t, ses.Config{Region: "us-east-1", AccessKeyID: testKeyID, SecretAccessKey: testSecret, Endpoint: srv.URL})
			_, err := c.Deliver(context.Background(), testFrom, testTo, testMessage())
			if got := mailer.Classify(err); got != tt.want {
				t.Errorf("got class %v, want %v (err %v)", got, tt.want, err)
			}
			var se *mailer.SendError
			if !errors.As(err, &se) {
				t.Fatalf("got %T %v, want a *mailer.SendError", err, err)
			}
			if se.Stage != "ses" || se.Code != tt.wantCode || se.Enhanced != tt.wantEnhanced {
				t.Errorf("got stage %q code %d enhanced %q, want ses %d %q", se.Stage, se.Code, se.Enhanced, tt.wantCode, tt.wantEnhanced)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("got %q, want it to contain %q", err, tt.wantText)
			}
			if n := len(received()); n != 1 {
				t.Errorf("got %d requests, want 1: Herald, not the SDK, retries", n)
			}
		})
	}
}

// TestDeliverTypedErrors checks that SES's typed errors stay reachable, so
// a caller can tell an account-wide stop from a refused message.
func TestDeliverTypedErrors(t *testing.T) {
	isolateAWS(t)
	srv, _ := fakeSES(t, sesError(400, "SendingPausedException", `{"message":"Sending is paused."}`))
	c := newClient(t, ses.Config{Region: "us-east-1", AccessKeyID: testKeyID, SecretAccessKey: testSecret, Endpoint: srv.URL})
	_, err := c.Deliver(context.Background(), testFrom, testTo, testMessage())
	var paused *types.SendingPausedException
	if !errors.As(err, &paused) || paused.ErrorMessage() != "Sending is paused." {
		t.Errorf("got %v, want a *types.SendingPausedException underneath", err)
	}
}

func TestDeliverUnanswered(t *testing.T) {
	isolateAWS(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	endpoint := srv.URL
	srv.Close()
	c := newClient(t, ses.Config{Region: "us-east-1", AccessKeyID: testKeyID, SecretAccessKey: testSecret, Endpoint: endpoint})

	_, err := c.Deliver(context.Background(), testFrom, testTo, testMessage())
	var se *mailer.SendError
	if mailer.Classify(err) != mailer.Temporary || !errors.As(err, &se) || se.Code != 0 {
		t.Errorf("got %v, want a temporary SendError with code 0 for a refused connection", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Deliver(ctx, testFrom, testTo, testMessage())
	if !errors.Is(err, context.Canceled) || mailer.Classify(err) != mailer.Temporary {
		t.Errorf("got %v, want a temporary error that is context.Canceled", err)
	}
}
