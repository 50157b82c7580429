package ses_test

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
	"slices"
	"strings"
	"testing"
	"time"

	"herald/mailer"
	"herald/mailer/ses"
)

// emulatorDir is the npm project that installs aws-ses-v2-local, a local
// SES v2 API that keeps what it receives and lists it at /store.
const emulatorDir = "testdata/emulator"

// emulatorAccount is what the emulator answers to GetAccount; it has no
// account of its own.
const emulatorAccount = `{"DedicatedIpAutoWarmupEnabled":false,"EnforcementStatus":"HEALTHY",
	"ProductionAccessEnabled":false,"SendingEnabled":true,
	"SendQuota":{"Max24HourSend":200,"MaxSendRate":1,"SentLast24Hours":3},
	"Details":{"AdditionalContactEmailAddresses":[],"ContactLanguage":"EN","MailType":"MARKETING",
		"ReviewDetails":{"CaseId":"herald-test","Status":"PENDING"},"UseCaseDescription":"newsletters","WebsiteURL":"https://example.org"},
	"SuppressionAttributes":{"SuppressedReasons":["BOUNCE","COMPLAINT"]}}`

// startEmulator runs the emulator on a free loopback port and returns its
// URL. It skips the test when the emulator is not installed, unless
// HERALD_SES_TESTS=required, as in CI.
func startEmulator(t *testing.T) string {
	t.Helper()
	bin, err := filepath.Abs(filepath.Join(emulatorDir, "node_modules", ".bin", "aws-ses-v2-local"))
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err == nil {
		_, err = exec.LookPath("node")
	}
	if err != nil {
		msg := fmt.Sprintf("the SES emulator cannot run (%v); install it with: npm ci --prefix mailer/ses/testdata/emulator", err)
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
	cmd.Dir = emulatorDir
	// An empty SMTP_TRANSPORT keeps the emulator from forwarding mail.
	cmd.Env = append(os.Environ(), "SMTP_TRANSPORT=", "AWS_SES_ACCOUNT="+emulatorAccount)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		cancel()
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

	base := "http://127.0.0.1:" + port
	for deadline := time.Now().Add(30 * time.Second); ; {
		if resp, err := http.Get(base + "/health-check"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case <-exited:
			out, _ := os.ReadFile(logFile.Name())
			t.Fatalf("the SES emulator exited before it answered: %s", out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the SES emulator did not answer on %s within 30 s", base)
		}
	}
}

// storedEmail is one message as the emulator's /store lists it.
type storedEmail struct {
	MessageID   string `json:"messageId"`
	From        string `json:"from"`
	Subject     string `json:"subject"`
	Destination struct {
		To []string `json:"to"`
	} `json:"destination"`
	Body struct {
		Text string `json:"text"`
		HTML string `json:"html"`
	} `json:"body"`
}

func emulatorStore(t *testing.T, base string) []storedEmail {
	t.Helper()
	resp, err := http.Get(base + "/store")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var store struct{ Emails []storedEmail }
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		t.Fatalf("decoding /store: %v", err)
	}
	return store.Emails
}

func TestEmulator(t *testing.T) {
	isolateAWS(t)
	base := startEmulator(t)
	c := newClient(t, ses.Config{Region: "eu-central-1", AccessKeyID: testKeyID, SecretAccessKey: testSecret, Endpoint: base})
	ctx := context.Background()

	t.Run("deliver", func(t *testing.T) {
		res, err := c.Deliver(ctx, testFrom, testTo, testMessage())
		if err != nil {
			t.Fatalf("Deliver: %v", err)
		}
		if res.ProviderID == "" || !strings.Contains(res.Reply, res.ProviderID) {
			t.Errorf("got %+v, want the emulator's message id as ProviderID and in Reply", res)
		}
		stored := emulatorStore(t, base)
		i := slices.IndexFunc(stored, func(e storedEmail) bool { return e.MessageID == res.ProviderID })
		if i < 0 {
			t.Fatalf("got no stored email with id %q among %+v", res.ProviderID, stored)
		}
		e := stored[i]
		if e.Subject != "Grüße from Herald" || !strings.Contains(e.From, testFrom) || !slices.ContainsFunc(e.Destination.To, func(to string) bool { return strings.Contains(to, testTo) }) {
			t.Errorf("got subject %q from %q to %q, want %q from %s to %s", e.Subject, e.From, e.Destination.To, "Grüße from Herald", testFrom, testTo)
		}
		if !strings.Contains(e.Body.Text, "the news.") || !strings.Contains(e.Body.HTML, "<p>the news.</p>") {
			t.Errorf("got text %q and HTML %q, want both parts of the multipart message", e.Body.Text, e.Body.HTML)
		}
	})

	t.Run("refused", func(t *testing.T) {
		// The emulator refuses a raw message without a From header.
		msg := []byte("To: " + testTo + "\r\nSubject: no sender\r\n\r\nHello.\r\n")
		_, err := c.Deliver(ctx, testFrom, testTo, msg)
		var se *mailer.SendError
		if mailer.Classify(err) != mailer.Permanent || !errors.As(err, &se) || se.Code != 554 {
			t.Errorf("got %v, want a permanent 554 SendError", err)
		}
	})

	t.Run("quota", func(t *testing.T) {
		q, err := c.Quota(ctx)
		if err != nil {
			t.Fatalf("Quota: %v", err)
		}
		want := ses.Quota{Max24Hour: 200, MaxPerSecond: 1, SentLast24Hours: 3, SendingEnabled: true}
		if q != want {
			t.Errorf("got %+v, want %+v", q, want)
		}
	})
}
