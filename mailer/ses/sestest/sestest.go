// Package sestest runs aws-ses-v2-local, a local SES v2 API that keeps what
// it receives, for tests of everything that sends through Amazon SES.
package sestest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"herald/mailer/ses"
)

// emulatorDir is the npm project, relative to the module root, that
// installs the emulator.
const emulatorDir = "mailer/ses/testdata/emulator"

// account is what the emulator answers to GetAccount; it has no account of
// its own. Its quota is Quota's.
const account = `{"DedicatedIpAutoWarmupEnabled":false,"EnforcementStatus":"HEALTHY",
	"ProductionAccessEnabled":false,"SendingEnabled":true,
	"SendQuota":{"Max24HourSend":200,"MaxSendRate":1,"SentLast24Hours":3},
	"Details":{"AdditionalContactEmailAddresses":[],"ContactLanguage":"EN","MailType":"MARKETING",
		"ReviewDetails":{"CaseId":"herald-test","Status":"PENDING"},"UseCaseDescription":"newsletters","WebsiteURL":"https://example.org"},
	"SuppressionAttributes":{"SuppressedReasons":["BOUNCE","COMPLAINT"]}}`

// Emulator is a running SES emulator on 127.0.0.1.
type Emulator struct {
	// URL is the emulator's base URL, the endpoint to give an SES client.
	URL string
}

// Quota is the sending allowance the emulator's account reports: a sandboxed
// account allowed 200 messages a day at 1 a second, 3 already sent.
func (e *Emulator) Quota() ses.Quota {
	return ses.Quota{Max24Hour: 200, MaxPerSecond: 1, SentLast24Hours: 3, SendingEnabled: true}
}

// Start runs the emulator on a free loopback port until the test ends, when
// it is stopped and waited for. It skips the test when the emulator is not
// installed, unless HERALD_SES_TESTS=required, as in CI, where it fails.
func Start(t testing.TB) *Emulator {
	t.Helper()
	dir, bin, err := installed()
	if err != nil {
		msg := fmt.Sprintf("the SES emulator cannot run (%v); install it with: npm ci --prefix %s", err, emulatorDir)
		if os.Getenv("HERALD_SES_TESTS") == "required" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
	l.Close()

	logFile, err := os.Create(filepath.Join(t.TempDir(), "emulator.log"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--host", "127.0.0.1", "--port", port)
	cmd.Dir = dir
	// An empty SMTP_TRANSPORT keeps the emulator from forwarding mail.
	cmd.Env = append(os.Environ(), "SMTP_TRANSPORT=", "AWS_SES_ACCOUNT="+account)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		cancel()
		logFile.Close()
		t.Fatalf("starting the SES emulator: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cancel()
		<-exited
		logFile.Close()
	})

	e := &Emulator{URL: "http://127.0.0.1:" + port}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if resp, err := http.Get(e.URL + "/health-check"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return e
			}
		}
		select {
		case <-exited:
			out, _ := os.ReadFile(logFile.Name())
			t.Fatalf("the SES emulator exited before it answered: %s", out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the SES emulator did not answer on %s within 30 s", e.URL)
		}
	}
}

// installed finds the emulator's npm project and its program, and checks
// that node is there to run it.
func installed() (dir, bin string, err error) {
	root, err := moduleRoot()
	if err != nil {
		return "", "", err
	}
	dir = filepath.Join(root, filepath.FromSlash(emulatorDir))
	bin = filepath.Join(dir, "node_modules", ".bin", "aws-ses-v2-local")
	if _, err := os.Stat(bin); err != nil {
		return "", "", err
	}
	if _, err := exec.LookPath("node"); err != nil {
		return "", "", err
	}
	return dir, bin, nil
}

// moduleRoot is the nearest directory above the working directory, which
// go test sets to the package's, that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Email is one message as the emulator's /store lists it.
type Email struct {
	MessageID   string `json:"messageId"`
	From        string `json:"from"`
	Subject     string `json:"subject"`
	Destination struct {
		To []string `json:"to"`
		Cc []string `json:"cc"`
	} `json:"destination"`
	Body struct {
		Text string `json:"text"`
		HTML string `json:"html"`
	} `json:"body"`
}

// Emails returns the messages the emulator has received.
func (e *Emulator) Emails(t testing.TB) []Email {
	t.Helper()
	resp, err := http.Get(e.URL + "/store")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var store struct{ Emails []Email }
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		t.Fatalf("decoding the SES emulator's /store: %v", err)
	}
	return store.Emails
}

// IsolateAWS keeps the AWS SDK in this test process away from the machine's
// AWS setup: no shared files, no instance metadata, no credentials or
// endpoints from the environment. It uses t.Setenv, so the test may not be
// parallel.
func IsolateAWS(t testing.TB) {
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
