package ses_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"herald/mailer"
	"herald/mailer/ses"
)

const (
	testFrom   = "news@example.org"
	testTo     = "juergen@example.net"
	testKeyID  = "AKIDHERALDTEST"
	testSecret = "herald-test-secret"
)

// isolateAWS keeps the SDK away from the machine's AWS setup: no shared
// files, no instance metadata, no credentials or endpoints from the
// environment.
func isolateAWS(t *testing.T) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, name := range []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SESV2", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE",
		"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(name, "")
	}
}

// request is what the fake SES received.
type request struct {
	Method, Path, Authorization string
	Body                        []byte
}

// fakeSES stands in for SES's HTTP API, answering every call with answer
// and recording it. A fake, because the emulator cannot be made to throttle
// or fail; emulator_test.go covers the real exchange.
func fakeSES(t *testing.T, answer http.HandlerFunc) (*httptest.Server, func() []request) {
	t.Helper()
	var mu sync.Mutex
	var got []request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, request{r.Method, r.URL.Path, r.Header.Get("Authorization"), body})
		mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []request {
		mu.Lock()
		defer mu.Unlock()
		return append([]request(nil), got...)
	}
}

func newClient(t *testing.T, cfg ses.Config) *ses.Client {
	t.Helper()
	c, err := ses.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func testMessage() []byte {
	return mailer.Message{
		From: mail.Address{Name: "Herald", Address: testFrom}, To: mail.Address{Address: testTo},
		Subject: "Grüße from Herald", Text: "Hello,\nthe news.", HTML: "<p>Hello,</p><p>the news.</p>",
		Date: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
	}.Bytes()
}

func TestDeliver(t *testing.T) {
	isolateAWS(t)
	srv, received := fakeSES(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"MessageId":"0100018f-test-id"}`)
	})
	c := newClient(t, ses.Config{Region: "eu-west-1", AccessKeyID: testKeyID, SecretAccessKey: testSecret,
		ConfigurationSet: "herald-events", Endpoint: srv.URL})
	msg := testMessage()
	res, err := c.Deliver(context.Background(), testFrom, testTo, msg)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if res.ProviderID != "0100018f-test-id" || res.Reply != "SES message id 0100018f-test-id" {
		t.Errorf("got %+v, want the SES message id as ProviderID and in Reply", res)
	}
	reqs := received()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/v2/email/outbound-emails" {
		t.Errorf("got %s %s, want POST /v2/email/outbound-emails", r.Method, r.Path)
	}
	if want := "AWS4-HMAC-SHA256 Credential=" + testKeyID + "/"; !strings.HasPrefix(r.Authorization, want) {
		t.Errorf("got Authorization %q, want it to start %q", r.Authorization, want)
	}
	var body struct {
		FromEmailAddress     string
		ConfigurationSetName string
		Destination          struct{ ToAddresses []string }
		Content              struct{ Raw struct{ Data string } }
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("decoding the request %s: %v", r.Body, err)
	}
	if body.FromEmailAddress != testFrom || len(body.Destination.ToAddresses) != 1 || body.Destination.ToAddresses[0] != testTo {
		t.Errorf("got from %q to %q, want %q to [%q]", body.FromEmailAddress, body.Destination.ToAddresses, testFrom, testTo)
	}
	if body.ConfigurationSetName != "herald-events" {
		t.Errorf("got configuration set %q, want herald-events", body.ConfigurationSetName)
	}
	raw, err := base64.StdEncoding.DecodeString(body.Content.Raw.Data)
	if err != nil || string(raw) != string(msg) {
		t.Errorf("got raw message %q (%v), want the MIME bytes given to Deliver", raw, err)
	}
}

func TestQuota(t *testing.T) {
	isolateAWS(t)
	srv, received := fakeSES(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ProductionAccessEnabled":true,"SendingEnabled":true,
			"SendQuota":{"Max24HourSend":50000,"MaxSendRate":14,"SentLast24Hours":1234}}`)
	})
	c := newClient(t, ses.Config{Region: "us-east-1", AccessKeyID: testKeyID, SecretAccessKey: testSecret, Endpoint: srv.URL})
	q, err := c.Quota(context.Background())
	if err != nil {
		t.Fatalf("Quota: %v", err)
	}
	want := ses.Quota{Max24Hour: 50000, MaxPerSecond: 14, SentLast24Hours: 1234, SendingEnabled: true, ProductionAccess: true}
	if q != want {
		t.Errorf("got %+v, want %+v", q, want)
	}
	if r := received(); len(r) != 1 || r[0].Method != http.MethodGet || r[0].Path != "/v2/email/account" {
		t.Errorf("got %+v, want one GET /v2/email/account", r)
	}
}

// TestDefaultCredentials checks that without keys the client takes them
// from the default chain, here the environment.
func TestDefaultCredentials(t *testing.T) {
	isolateAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env")
	srv, received := fakeSES(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"MessageId":"id"}`)
	})
	c := newClient(t, ses.Config{Region: "us-east-1", Endpoint: srv.URL})
	if _, err := c.Deliver(context.Background(), testFrom, testTo, testMessage()); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if r := received(); len(r) != 1 || !strings.Contains(r[0].Authorization, "Credential=AKIDFROMENV/") {
		t.Errorf("got %+v, want one request signed with the key from the environment", r)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  ses.Config
		want string
	}{
		{"default credentials", ses.Config{Region: "us-east-1"}, ""},
		{"keys and endpoint", ses.Config{Region: "us-gov-west-1", AccessKeyID: "a", SecretAccessKey: "b", Endpoint: "http://127.0.0.1:8005"}, ""},
		{"no region", ses.Config{}, "region is required"},
		{"hostname as region", ses.Config{Region: "email.us-east-1.amazonaws.com"}, "like us-east-1"},
		{"upper case region", ses.Config{Region: "US-EAST-1"}, "like us-east-1"},
		{"key without secret", ses.Config{Region: "us-east-1", AccessKeyID: "a"}, "give both, or neither"},
		{"secret without key", ses.Config{Region: "us-east-1", SecretAccessKey: "b"}, "give both, or neither"},
		{"endpoint without scheme", ses.Config{Region: "us-east-1", Endpoint: "127.0.0.1:8005"}, "is not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	isolateAWS(t)
	if _, err := ses.New(context.Background(), ses.Config{}); err == nil {
		t.Error("got no error from New with an empty config, want one")
	}
}

// TestDeliverToMoreThanSESTakes sends a message to 60 recipients: SES takes
// 50 a call, so it goes in two. The first call's id is the message's; when
// the second call fails, its recipients are refused rather than the whole
// message failed, which would send the first 50 a second copy.
func TestDeliverToMoreThanSESTakes(t *testing.T) {
	isolateAWS(t)
	var mu sync.Mutex
	calls, throttle := 0, false
	srv, received := fakeSES(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		switch {
		case n > 1 && throttle:
			sesError(429, "TooManyRequestsException", `{"message":"Maximum sending rate exceeded."}`)(w, r)
			return
		case n > 1:
			sesError(400, "MessageRejected", `{"message":"Email address is not verified."}`)(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"MessageId":"first-call"}`)
	})
	c := newClient(t, ses.Config{Region: "eu-west-1", AccessKeyID: testKeyID, SecretAccessKey: testSecret, Endpoint: srv.URL})
	to := make([]string, 60)
	for i := range to {
		to[i] = fmt.Sprintf("r%d@example.net", i)
	}
	res, err := c.DeliverTo(context.Background(), testFrom, to, testMessage())
	if err != nil || res.ProviderID != "first-call" {
		t.Fatalf("got %+v, %v; want the first call's id and no error", res, err)
	}
	if len(res.Refused) != 10 || res.Refused["r50@example.net"] == nil || res.Refused["r59@example.net"] == nil {
		t.Errorf("refused: got %d, want the second call's 10", len(res.Refused))
	}
	var sizes []int
	for _, r := range received() {
		var body struct {
			Destination struct{ ToAddresses []string }
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(body.Destination.ToAddresses))
	}
	if fmt.Sprint(sizes[:2]) != "[50 10]" {
		t.Errorf("calls: got destinations of %v, want [50 10]", sizes)
	}

	// A second call throttled leaves its recipients to be sent alone later.
	mu.Lock()
	calls, throttle = 0, true
	mu.Unlock()
	res, err = c.DeliverTo(context.Background(), testFrom, to, testMessage())
	if err != nil || len(res.Deferred) != 10 || len(res.Refused) != 0 || mailer.Classify(res.Deferred["r55@example.net"]) != mailer.Temporary {
		t.Errorf("throttled second call: got %d deferred, %d refused, %v; want 10 deferred", len(res.Deferred), len(res.Refused), err)
	}

	// When the first call fails, nobody has the message and it fails whole.
	mu.Lock()
	calls, throttle = 1, false
	mu.Unlock()
	if res, err := c.DeliverTo(context.Background(), testFrom, to[:3], testMessage()); err == nil || res.ProviderID != "" {
		t.Errorf("first call refused: got %+v, %v; want an error", res, err)
	}
}
