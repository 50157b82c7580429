package mailer

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"herald/mailer/smtptest"
)

const (
	testFrom = "news@example.org"
	testTo   = "juergen@example.net"
	testUser = "herald"
	testPass = "s3cret"
)

// relayFor points a relay at srv, with a short timeout so a hung exchange
// fails the test instead of stalling it.
func relayFor(srv *smtptest.Server, mode string) SMTPRelay {
	return SMTPRelay{Host: srv.Host(), Port: srv.Port(), TLS: mode, Timeout: 10 * time.Second}
}

func wireMessage(to string) []byte {
	msg := testMessage()
	msg.To = mail.Address{Address: to}
	msg.Text += "\n.\nLine after a lone dot.\n"
	return msg.Bytes()
}

func TestSendOne(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := smtptest.TLSPair(t)
	tests := []struct {
		name     string
		opts     smtptest.Options
		mode     string
		user     string
		pass     string
		wantAuth string
	}{
		{name: "plain", mode: TLSNone},
		{name: "auth", opts: smtptest.Options{Username: testUser, Password: testPass}, mode: TLSNone, user: testUser, pass: testPass, wantAuth: testUser},
		{name: "starttls", opts: smtptest.Options{TLS: serverTLS}, mode: TLSStartTLS},
		{name: "starttls auth", opts: smtptest.Options{TLS: serverTLS, Username: testUser, Password: testPass}, mode: TLSStartTLS, user: testUser, pass: testPass, wantAuth: testUser},
		{name: "implicit tls", opts: smtptest.Options{TLS: serverTLS, Implicit: true}, mode: TLSImplicit},
		{name: "implicit tls auth", opts: smtptest.Options{TLS: serverTLS, Implicit: true, Username: testUser, Password: testPass}, mode: TLSImplicit, user: testUser, pass: testPass, wantAuth: testUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.opts)
			r := relayFor(srv, tt.mode)
			r.Username, r.Password = tt.user, tt.pass
			if tt.opts.TLS != nil {
				r.TLSConfig = clientTLS
			}
			data := wireMessage(testTo)

			res, err := r.SendOne(t.Context(), testFrom, testTo, data)
			if err != nil {
				t.Fatalf("SendOne: got %v, want nil", err)
			}
			if !strings.HasPrefix(res.Reply, "250") {
				t.Errorf("Reply: got %q, want 250 ...", res.Reply)
			}

			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("messages recorded: got %d, want 1", len(msgs))
			}
			got := msgs[0]
			if got.From != testFrom {
				t.Errorf("MAIL FROM: got %q, want %q", got.From, testFrom)
			}
			if len(got.To) != 1 || got.To[0] != testTo {
				t.Errorf("RCPT TO: got %v, want [%v]", got.To, testTo)
			}
			if got.Auth != tt.wantAuth {
				t.Errorf("Auth: got %q, want %q", got.Auth, tt.wantAuth)
			}
			if !bytes.Equal(got.Data, data) {
				t.Errorf("Data:\ngot\n%q\nwant\n%q", got.Data, data)
			}

			// A message with dots, a bare LF and no end to its last
			// line, which BDAT carries with both made right.
			if _, err := r.SendOne(t.Context(), testFrom, testTo, []byte(oddMessage)); err != nil {
				t.Fatalf("SendOne of an odd message: got %v, want nil", err)
			}
			want := "Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nbare LF\r\nafter it\r\n.\r\nlast line\r\n"
			if msgs := srv.Messages(); len(msgs) != 2 || string(msgs[1].Data) != want {
				t.Errorf("the odd message: got %+v, want it as %q", msgs[1:], want)
			}
		})
	}
}

func TestSendOnePrefersPlain(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{Username: testUser, Password: testPass})
	proxy := startRecordingProxy(t, srv.Addr)
	r := relayFor(srv, TLSNone)
	r.Port = proxy.port()
	r.Username, r.Password = testUser, testPass

	if _, err := r.SendOne(t.Context(), testFrom, testTo, wireMessage(testTo)); err != nil {
		t.Fatalf("SendOne: got %v, want nil", err)
	}
	sent := proxy.clientBytes()
	if !strings.Contains(sent, "AUTH PLAIN") {
		t.Errorf("client commands: got %q, want AUTH PLAIN", sent)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || msgs[0].Auth != testUser {
		t.Errorf("recorded: got %+v, want one message authenticated as %q", msgs, testUser)
	}
}

func TestSendOneErrors(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := smtptest.TLSPair(t)
	reject := func(code int, enh smtp.EnhancedCode, text string) func(string) error {
		return func(string) error { return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: text} }
	}
	tests := []struct {
		name          string
		opts          smtptest.Options
		mode          string
		user, pass    string
		clientTLS     *tls.Config
		wantStage     string
		wantCode      int
		wantTemporary bool
		wantInError   []string
	}{
		{
			name:      "wrong password",
			opts:      smtptest.Options{Username: testUser, Password: testPass},
			mode:      TLSNone,
			user:      testUser,
			pass:      "wrong",
			wantStage: "auth", wantCode: 535, wantTemporary: false,
			wantInError: []string{"535", "5.7.8"},
		},
		{
			name:      "unknown recipient",
			opts:      smtptest.Options{RejectRcpt: reject(550, smtp.EnhancedCode{5, 1, 1}, "no such user")},
			mode:      TLSNone,
			wantStage: "rcpt", wantCode: 550, wantTemporary: false,
			wantInError: []string{"rcpt", "550", "5.1.1", "no such user"},
		},
		{
			name:      "greylisted recipient",
			opts:      smtptest.Options{RejectRcpt: reject(451, smtp.EnhancedCode{4, 7, 1}, "greylisted, try later")},
			mode:      TLSNone,
			wantStage: "rcpt", wantCode: 451, wantTemporary: true,
			wantInError: []string{"451", "4.7.1", "greylisted"},
		},
		{
			name:      "no auth offered",
			mode:      TLSNone,
			user:      testUser,
			pass:      testPass,
			wantStage: "auth", wantCode: 0, wantTemporary: false,
			wantInError: []string{"does not offer AUTH"},
		},
		{
			// AUTH is only offered after STARTTLS; a relay left on "none" never sees it.
			name:      "auth needs tls",
			opts:      smtptest.Options{TLS: serverTLS, Username: testUser, Password: testPass},
			mode:      TLSNone,
			user:      testUser,
			pass:      testPass,
			wantStage: "auth", wantCode: 0, wantTemporary: false,
			wantInError: []string{"does not offer AUTH"},
		},
		{
			name:      "starttls not offered",
			mode:      TLSStartTLS,
			clientTLS: clientTLS,
			wantStage: "tls", wantCode: 0, wantTemporary: true,
			wantInError: []string{"STARTTLS"},
		},
		{
			name:      "starttls untrusted certificate",
			opts:      smtptest.Options{TLS: serverTLS},
			mode:      TLSStartTLS,
			wantStage: "tls", wantCode: 0, wantTemporary: true,
			wantInError: []string{"certificate"},
		},
		{
			name:      "implicit tls untrusted certificate",
			opts:      smtptest.Options{TLS: serverTLS, Implicit: true},
			mode:      TLSImplicit,
			wantStage: "tls", wantCode: 0, wantTemporary: true,
			wantInError: []string{"certificate"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.opts)
			r := relayFor(srv, tt.mode)
			r.Username, r.Password = tt.user, tt.pass
			r.TLSConfig = tt.clientTLS

			_, err := r.SendOne(t.Context(), testFrom, testTo, wireMessage(testTo))
			checkSendError(t, err, tt.wantStage, tt.wantCode, tt.wantTemporary, tt.wantInError...)
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("messages recorded: got %d, want 0", n)
			}
		})
	}
}

func TestSendOneConnectRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	r := SMTPRelay{Host: "127.0.0.1", Port: port, TLS: TLSNone, Timeout: 10 * time.Second}
	_, err = r.SendOne(t.Context(), testFrom, testTo, wireMessage(testTo))
	checkSendError(t, err, "connect", 0, true, strconv.Itoa(port))
}

func TestSendOverOneClient(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{Username: testUser, Password: testPass})
	r := relayFor(srv, TLSNone)
	r.Username, r.Password = testUser, testPass

	c, err := r.Dial(t.Context())
	if err != nil {
		t.Fatalf("Dial: got %v, want nil", err)
	}
	defer c.Close()

	rcpts := []string{"a@example.net", "b@example.net", "c@example.net"}
	var sent [][]byte
	for _, to := range rcpts {
		data := wireMessage(to)
		res, err := Send(c, testFrom, to, data)
		if err != nil {
			t.Fatalf("Send to %s: got %v, want nil", to, err)
		}
		if !strings.HasPrefix(res.Reply, "250") {
			t.Errorf("Reply for %s: got %q, want 250 ...", to, res.Reply)
		}
		sent = append(sent, data)
	}
	if err := c.Quit(); err != nil {
		t.Errorf("Quit: got %v, want nil", err)
	}

	msgs := srv.Messages()
	if len(msgs) != len(rcpts) {
		t.Fatalf("messages recorded: got %d, want %d", len(msgs), len(rcpts))
	}
	for i, m := range msgs {
		if len(m.To) != 1 || m.To[0] != rcpts[i] {
			t.Errorf("message %d RCPT TO: got %v, want [%v]", i, m.To, rcpts[i])
		}
		if m.Auth != testUser {
			t.Errorf("message %d Auth: got %q, want %q", i, m.Auth, testUser)
		}
		if !bytes.Equal(m.Data, sent[i]) {
			t.Errorf("message %d Data: got %d bytes, want the %d sent", i, len(m.Data), len(sent[i]))
		}
	}
}

func TestSendAfterRejectedRecipient(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{RejectRcpt: func(to string) error {
		if to == "gone@example.net" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}})
	c, err := relayFor(srv, TLSNone).Dial(t.Context())
	if err != nil {
		t.Fatalf("Dial: got %v, want nil", err)
	}
	defer c.Close()

	if _, err := Send(c, testFrom, "a@example.net", wireMessage("a@example.net")); err != nil {
		t.Fatalf("Send to a: got %v, want nil", err)
	}
	_, err = Send(c, testFrom, "gone@example.net", wireMessage("gone@example.net"))
	checkSendError(t, err, "rcpt", 550, false, "5.1.1")
	if _, err := Send(c, testFrom, "b@example.net", wireMessage("b@example.net")); err != nil {
		t.Fatalf("Send to b after a rejection: got %v, want nil", err)
	}

	msgs := srv.Messages()
	var got []string
	for _, m := range msgs {
		got = append(got, strings.Join(m.To, ","))
	}
	if want := "a@example.net b@example.net"; strings.Join(got, " ") != want {
		t.Errorf("recipients recorded: got %v, want %v", got, want)
	}
}

func TestSendErrorUnwrap(t *testing.T) {
	t.Parallel()
	inner := errors.New("boom")
	var err error = &SendError{Stage: "data", Err: inner}
	if !errors.Is(err, inner) {
		t.Errorf("errors.Is(SendError, inner): got false, want true")
	}
	if got, want := err.Error(), "data: boom"; got != want {
		t.Errorf("Error: got %q, want %q", got, want)
	}
}

func checkSendError(t *testing.T, err error, stage string, code int, temporary bool, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("error: got nil, want *SendError at stage %q", stage)
	}
	var se *SendError
	if !errors.As(err, &se) {
		t.Fatalf("error type: got %T (%v), want *SendError", err, err)
	}
	if se.Stage != stage {
		t.Errorf("Stage: got %q, want %q (%v)", se.Stage, stage, err)
	}
	if se.Code != code {
		t.Errorf("Code: got %d, want %d (%v)", se.Code, code, err)
	}
	if se.Temporary != temporary {
		t.Errorf("Temporary: got %v, want %v (%v)", se.Temporary, temporary, err)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("Error(): got %q, want it to mention %q", err.Error(), s)
		}
	}
}

// recordingProxy forwards one loopback connection to an SMTP server and keeps
// what the client sent, because smtptest does not record the SASL mechanism.
type recordingProxy struct {
	ln   net.Listener
	done chan struct{}
	mu   sync.Mutex
	buf  bytes.Buffer
}

func startRecordingProxy(t *testing.T, target string) *recordingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &recordingProxy{ln: ln, done: make(chan struct{})}
	go p.serve(target)
	t.Cleanup(func() {
		ln.Close()
		<-p.done
	})
	return p
}

func (p *recordingProxy) serve(target string) {
	defer close(p.done)
	client, err := p.ln.Accept()
	if err != nil {
		return
	}
	defer client.Close()
	server, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer server.Close()
	upDone := make(chan struct{})
	go func() {
		defer close(upDone)
		io.Copy(server, io.TeeReader(client, p))
		server.(*net.TCPConn).CloseWrite()
	}()
	io.Copy(client, server)
	client.Close()
	<-upDone
}

func (p *recordingProxy) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.Write(b)
}

func (p *recordingProxy) port() int {
	return p.ln.Addr().(*net.TCPAddr).Port
}

// clientBytes waits for the proxied connection to end and returns what the client sent.
func (p *recordingProxy) clientBytes() string {
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}
