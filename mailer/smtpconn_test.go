package mailer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"herald/mailer/smtptest"
)

// oddMessage has what dot-stuffing and line ends are about: lines that
// start with a dot, a lone dot, a bare LF, and a last line without an end.
const oddMessage = "Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nbare LF\nafter it\r\n.\nlast line"

// TestTransactions runs transactions through a relay that answers MAIL,
// RCPT, DATA and the message each with a refusal in turn, offering
// PIPELINING and not: the outcome is the same either way, the commands
// sent differ only where a pipelining client cannot yet know that it
// need not send them, and the connection carries the next message.
func TestTransactions(t *testing.T) {
	t.Parallel()
	const (
		a, b, c = "a@example.net", "b@example.net", "c@example.net"
		gone    = "gone@example.net"
		full    = "full@example.net"
	)
	tests := []struct {
		name     string
		replies  map[string]string
		maxRcpts int
		to       []string
		// pipeliningOnly is for what only a pipelining client meets;
		// dataOnly for what only one that sends DATA, not BDAT, does.
		pipeliningOnly, dataOnly bool

		wantStage     string
		wantCode      int
		wantTemporary bool
		wantRefused   []string
		wantDeferred  []string
		wantReply     string
		// wantLog is the commands the relay got, "." for a message, with
		// BDAT for DATA when chunked; wantLogOneByOne, when set, is them
		// without PIPELINING.
		wantLog, wantLogOneByOne string
		// wantMessages is the recipients of each message the relay got.
		wantMessages []string
	}{
		{
			name:    "taken",
			replies: map[string]string{".": "250-mx.example\r\n250 2.0.0 Ok: queued as 4F2"},
			to:      []string{a}, wantReply: "250 mx.example\n2.0.0 Ok: queued as 4F2",
			wantLog: "MAIL RCPT DATA .", wantMessages: []string{a},
		},
		{
			name: "taken for several",
			to:   []string{a, b, c}, wantReply: "250 2.0.0 Ok: queued as 4F2",
			wantLog: "MAIL RCPT RCPT RCPT DATA .", wantMessages: []string{"a@example.net b@example.net c@example.net"},
		},
		{
			name:    "MAIL refused for now",
			replies: map[string]string{"MAIL": "451 4.3.0 Try again later"},
			to:      []string{a}, wantStage: "mail", wantCode: 451, wantTemporary: true,
			wantLog: "MAIL RCPT DATA RSET", wantLogOneByOne: "MAIL RSET",
		},
		{
			name:    "MAIL refused for good",
			replies: map[string]string{"MAIL": "553 5.7.1 Sender address rejected"},
			to:      []string{a, b}, wantStage: "mail", wantCode: 553,
			wantLog: "MAIL RCPT RCPT DATA RSET", wantLogOneByOne: "MAIL RSET",
		},
		{
			name:    "RCPT refused",
			replies: map[string]string{"RCPT": "550 5.1.1 No such user"},
			to:      []string{a}, wantStage: "rcpt", wantCode: 550,
			wantLog: "MAIL RCPT DATA RSET", wantLogOneByOne: "MAIL RCPT RSET",
		},
		{
			name:    "one of several refused for good",
			replies: map[string]string{"RCPT TO:<" + gone + ">": "550 5.1.1 No such user"},
			to:      []string{a, gone, b}, wantRefused: []string{gone}, wantReply: "250 2.0.0 Ok: queued as 4F2",
			wantLog: "MAIL RCPT RCPT RCPT DATA .", wantMessages: []string{"a@example.net b@example.net"},
		},
		{
			name:    "one of several refused for now",
			replies: map[string]string{"RCPT TO:<" + full + ">": "452 4.2.2 Mailbox full"},
			to:      []string{full, a}, wantDeferred: []string{full}, wantReply: "250 2.0.0 Ok: queued as 4F2",
			wantLog: "MAIL RCPT RCPT DATA .", wantMessages: []string{a},
		},
		{
			name:    "each of several refused",
			replies: map[string]string{"RCPT TO:<" + gone + ">": "550 5.1.1 No such user", "RCPT TO:<" + full + ">": "451 4.7.1 Greylisted"},
			to:      []string{gone, full}, wantStage: "rcpt", wantCode: 451, wantTemporary: true,
			wantRefused: []string{gone}, wantDeferred: []string{full},
			wantLog: "MAIL RCPT RCPT DATA RSET", wantLogOneByOne: "MAIL RCPT RCPT RSET",
		},
		{
			name:     "too many recipients",
			maxRcpts: 2,
			to:       []string{a, b, c}, wantReply: "250 2.0.0 Ok: queued as 4F2",
			wantLog:      "MAIL RCPT RCPT RCPT DATA . MAIL RCPT DATA .",
			wantMessages: []string{"a@example.net b@example.net", c},
		},
		{
			name:     "DATA refused for now",
			dataOnly: true,
			replies:  map[string]string{"DATA": "451 4.3.0 Try again later"},
			to:       []string{a}, wantStage: "data", wantCode: 451, wantTemporary: true,
			wantLog: "MAIL RCPT DATA RSET",
		},
		{
			name:     "DATA refused for good",
			dataOnly: true,
			replies:  map[string]string{"DATA": "554 5.7.1 Not from you"},
			to:       []string{a, b}, wantStage: "data", wantCode: 554,
			wantLog: "MAIL RCPT RCPT DATA RSET",
		},
		{
			name:    "message refused for now",
			replies: map[string]string{".": "451 4.3.0 Queue full"},
			to:      []string{a}, wantStage: "data", wantCode: 451, wantTemporary: true,
			wantLog: "MAIL RCPT DATA . RSET", wantMessages: []string{a},
		},
		{
			name:    "message refused for good",
			replies: map[string]string{".": "552-5.3.4 Message too big\r\n552 5.3.4 for this relay"},
			to:      []string{a}, wantStage: "data", wantCode: 552,
			wantLog: "MAIL RCPT DATA . RSET", wantMessages: []string{a},
		},
		{
			// RFC 2920, 3.1: a lone dot ends what the relay waits for.
			name:           "DATA taken with no recipient taken",
			replies:        map[string]string{"RCPT": "550 5.1.1 No such user", "DATA": "354 Go ahead", ".": "554 5.5.1 No valid recipients"},
			pipeliningOnly: true, dataOnly: true,
			to: []string{gone}, wantStage: "rcpt", wantCode: 550,
			wantLog: "MAIL RCPT DATA . RSET", wantMessages: []string{""},
		},
	}
	for _, o := range offers {
		for _, tt := range tests {
			if tt.pipeliningOnly && o == offerNone || tt.dataOnly && o == offerChunking {
				continue
			}
			t.Run(tt.name+", "+o.String(), func(t *testing.T) {
				t.Parallel()
				srv := startScript(t, o, tt.maxRcpts, maps.Clone(tt.replies))
				conn := srv.dial(t, 5*time.Second)
				srv.log()

				res, err := send(conn, testFrom, tt.to, []byte(oddMessage), nil)
				if tt.wantStage == "" {
					if err != nil {
						t.Fatalf("send: got %v, want nil", err)
					}
				} else {
					checkSendError(t, err, tt.wantStage, tt.wantCode, tt.wantTemporary)
					if err := conn.Reset(); err != nil {
						t.Fatalf("Reset: got %v, want nil", err)
					}
				}
				if got := slices.Sorted(maps.Keys(res.Refused)); !slices.Equal(got, tt.wantRefused) {
					t.Errorf("Refused: got %v, want %v", got, tt.wantRefused)
				}
				if got := slices.Sorted(maps.Keys(res.Deferred)); !slices.Equal(got, tt.wantDeferred) {
					t.Errorf("Deferred: got %v, want %v", got, tt.wantDeferred)
				}
				if res.Reply != tt.wantReply {
					t.Errorf("Reply: got %q, want %q", res.Reply, tt.wantReply)
				}
				wantLog := tt.wantLog
				switch {
				case o == offerNone && tt.wantLogOneByOne != "":
					wantLog = tt.wantLogOneByOne
				case o == offerChunking:
					wantLog = strings.ReplaceAll(wantLog, "DATA", "BDAT")
				}
				if got := srv.log(); got != wantLog {
					t.Errorf("commands: got %q, want %q", got, wantLog)
				}
				checkScriptMessages(t, srv, tt.wantMessages)

				if _, err := Send(conn, testFrom, "next@example.net", []byte(oddMessage)); err != nil {
					t.Errorf("the next message: got %v, want nil", err)
				}
				srv.mu.Lock()
				defer srv.mu.Unlock()
				if srv.ahead != nil {
					t.Errorf("commands sent before the reply to the one before: %q, want none without PIPELINING", srv.ahead)
				}
			})
		}
	}
}

// checkScriptMessages checks the recipients of each message the server
// got, and that its DATA is as textproto's DotWriter writes it, or its
// chunks what that DATA stands for.
func checkScriptMessages(t *testing.T, srv *scriptServer, want []string) {
	t.Helper()
	srv.mu.Lock()
	defer srv.mu.Unlock()
	var got []string
	for _, m := range srv.messages {
		got = append(got, strings.Join(m.to, " "))
		wantData := dotWriterData([]byte(oddMessage))
		switch {
		case m.chunked:
			wantData = dataContent(wantData)
		case len(m.to) == 0:
			wantData = []byte(".\r\n")
		}
		if !bytes.Equal(m.data, wantData) {
			t.Errorf("DATA to %v: got %q, want %q", m.to, m.data, wantData)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("messages: got recipients %q, want %q", got, want)
	}
}

// TestTransactionTimeouts sends to a relay that stops answering at MAIL,
// or takes DATA and then neither reads the message nor answers it: the
// send fails for now once the timeout has passed, rather than hang. Where
// the message went with its envelope in BDAT, no reply to MAIL is the
// message's failure, as the relay may have it, and a message it did not
// read whole MAIL's, as it cannot: only that one may go again at once.
func TestTransactionTimeouts(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte(strings.Repeat("x", 78)+"\r\n"), 400_000) // 32 MB, more than the socket buffers hold
	tests := []struct {
		name    string
		replies map[string]string
		msg     []byte
		// stage is where the send fails; chunkedStage, when set, where it
		// fails with BDAT.
		stage, chunkedStage string
	}{
		{"no reply to MAIL", map[string]string{"MAIL": hang}, []byte(oddMessage), "mail", "data"},
		{"no reply to the message", map[string]string{".": hang}, []byte(oddMessage), "data", ""},
		{"the message not read", map[string]string{".": hang}, big, "data", "mail"},
	}
	for _, o := range offers {
		for _, tt := range tests {
			t.Run(tt.name+", "+o.String(), func(t *testing.T) {
				t.Parallel()
				srv := startScript(t, o, 0, maps.Clone(tt.replies))
				conn := srv.dial(t, 300*time.Millisecond)
				_, err := Send(conn, testFrom, testTo, tt.msg)
				stage := tt.stage
				if o == offerChunking && tt.chunkedStage != "" {
					stage = tt.chunkedStage
				}
				checkSendError(t, err, stage, 0, true, "timeout")
			})
		}
	}
}

// TestDialStartTLSTimeout dials a relay that offers STARTTLS and never
// answers it: Dial fails once the timeout has passed, rather than after
// go-smtp's client's own five minutes.
func TestDialStartTLSTimeout(t *testing.T) {
	t.Parallel()
	srv := startScript(t, offerPipelining, 0, map[string]string{"STARTTLS": hang})
	r := srv.relay(300 * time.Millisecond)
	r.TLS = TLSStartTLS
	_, err := r.Dial(t.Context())
	checkSendError(t, err, "tls", 0, true, "timeout")
}

// TestDialImplicitTLSTimeout dials a relay that takes the connection and
// never shakes hands: Dial fails once the timeout has passed.
func TestDialImplicitTLSTimeout(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		select {
		case c := <-accepted:
			c.Close()
		default:
		}
	})
	addr := ln.Addr().(*net.TCPAddr)
	r := SMTPRelay{Host: "127.0.0.1", Port: addr.Port, TLS: TLSImplicit, Timeout: 300 * time.Millisecond}
	_, err = r.Dial(t.Context())
	checkSendError(t, err, "tls", 0, true, "timeout")
}

// TestRepliesReadAsGoSMTP has go-smtp's client and Herald's read the same
// replies, refusals of MAIL and answers to a message: the errors and the
// replies are the same.
func TestRepliesReadAsGoSMTP(t *testing.T) {
	t.Parallel()
	refusals := []string{
		"451 4.3.0 Try again later",
		"550 No enhanced status code",
		"550-5.1.1 The account you tried to reach does not exist.\r\n550 5.1.1 Please check the address.",
		"552-first line\r\n552 second line",
		"421 4.4.2",
		"554 5.7 An odd status code",
		"550 5.1.1  Two spaces",
		"553-5.1.3 one\r\nnot a reply line\r\n553 5.1.3 two",
		"450-4.2.1 one\r\n451 4.2.1 another code\r\n450 4.2.1 the end",
	}
	for _, reply := range refusals {
		t.Run(reply, func(t *testing.T) {
			t.Parallel()
			want := goSMTPClient(t, map[string]string{"MAIL": reply}).Mail(testFrom, nil)
			srv := startScript(t, offerNone, 0, map[string]string{"MAIL": reply})
			conn := srv.dial(t, 5*time.Second)
			got, _ := conn.envelope(testFrom, []string{testTo})
			if !reflect.DeepEqual(got, want) {
				t.Errorf("refusal: got %#v, want %#v as from go-smtp", got, want)
			}
		})
	}
	answers := []string{"250 2.0.0 Ok: queued as 4F2", "250-mx.example\r\n250 2.0.0 Ok: queued as 4F2", "250 ", "250 Ok"}
	for _, reply := range answers {
		t.Run(reply, func(t *testing.T) {
			t.Parallel()
			c := goSMTPClient(t, map[string]string{".": reply})
			if err := c.Mail(testFrom, nil); err != nil {
				t.Fatal(err)
			}
			if err := c.Rcpt(testTo, nil); err != nil {
				t.Fatal(err)
			}
			w, err := c.Data()
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte(oddMessage))
			resp, err := w.CloseWithResponse()
			if err != nil {
				t.Fatal(err)
			}
			want := strings.TrimSpace("250 " + resp.StatusText)

			srv := startScript(t, offerChunking, 0, map[string]string{".": reply})
			conn := srv.dial(t, 5*time.Second)
			res, err := Send(conn, testFrom, testTo, []byte(oddMessage))
			if err != nil {
				t.Fatal(err)
			}
			if res.Reply != want {
				t.Errorf("Reply: got %q, want %q as from go-smtp", res.Reply, want)
			}
		})
	}
}

// goSMTPClient returns go-smtp's client, greeted, on a server of its own
// without PIPELINING, which go-smtp's client does not use.
func goSMTPClient(t *testing.T, replies map[string]string) *smtp.Client {
	t.Helper()
	srv := startScript(t, offerNone, 0, replies)
	conn, err := net.Dial("tcp", srv.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClient(conn)
	t.Cleanup(func() { c.Close() })
	c.CommandTimeout = 5 * time.Second
	if err := c.Hello("localhost"); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSendDotsAndBareLF sends a message with lines that start with a dot, a
// bare LF and no line end at its end through go-smtp's server, pipelined:
// the server gets it with each line ended in CRLF and nothing else changed.
func TestSendDotsAndBareLF(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	if _, err := relayFor(srv, TLSNone).SendOne(t.Context(), testFrom, testTo, []byte(oddMessage)); err != nil {
		t.Fatalf("SendOne: got %v, want nil", err)
	}
	want := "Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nbare LF\r\nafter it\r\n.\r\nlast line\r\n"
	if msgs := srv.Messages(); len(msgs) != 1 || string(msgs[0].Data) != want {
		t.Errorf("messages: got %+v, want one with %q", msgs, want)
	}
}

// TestDeliverAfter checks that the message goes only once before has
// returned nil: after the relay took DATA, or before the envelope when the
// message goes with it in BDAT; and that when before fails the message is
// abandoned and the next goes over a new connection.
func TestDeliverAfter(t *testing.T) {
	t.Parallel()
	for _, o := range offers {
		t.Run(o.String(), func(t *testing.T) {
			t.Parallel()
			srv := startScript(t, o, 0, nil)
			p := NewPool(srv.relay(5*time.Second), 1)
			defer p.Close()

			var during string
			_, err := p.DeliverAfter(t.Context(), func() error {
				during = srv.log()
				return nil
			}, testFrom, "a@example.net", []byte(oddMessage))
			if err != nil {
				t.Fatalf("DeliverAfter: got %v, want nil", err)
			}
			want := "EHLO MAIL RCPT DATA"
			if o == offerChunking {
				want = "EHLO"
			}
			if during != want {
				t.Errorf("commands before the message was handed over: got %q, want %q", during, want)
			}

			failed := errors.New("the outbox did not commit")
			_, err = p.DeliverAfter(t.Context(), func() error { return failed }, testFrom, "b@example.net", []byte(oddMessage))
			checkSendError(t, err, "data", 0, true)
			if !errors.Is(err, failed) {
				t.Errorf("error: got %v, want it to wrap %v", err, failed)
			}
			if _, err := p.Deliver(t.Context(), testFrom, "c@example.net", []byte(oddMessage)); err != nil {
				t.Fatalf("Deliver after an abandoned message: got %v, want nil", err)
			}
			checkScriptMessages(t, srv, []string{"a@example.net", "c@example.net"})
		})
	}
}

// TestChunkedRefusals sends a message of several chunks in one BDAT, to a
// relay that refuses each part of the transaction in turn: the send fails
// at the right stage, and the connection, still in step, carries the next
// message. A relay that refuses the message before it has read it all,
// and stops reading, has its refusal reported.
func TestChunkedRefusals(t *testing.T) {
	t.Parallel()
	line := strings.Repeat("x", 78)
	big := []byte("Subject: big\r\n\r\n" + strings.Repeat(line+"\n", 3000))
	want := []byte("Subject: big\r\n\r\n" + strings.Repeat(line+"\r\n", 3000))
	tests := []struct {
		replies   map[string]string
		stage     string
		code      int
		temporary bool
	}{
		{map[string]string{"MAIL": "550 5.7.1 Sender refused"}, "mail", 550, false},
		{map[string]string{"MAIL": "451 4.3.0 Try again later"}, "mail", 451, true},
		{map[string]string{"RCPT": "550 5.1.1 No such user"}, "rcpt", 550, false},
		{map[string]string{".": "554 5.7.1 Spam"}, "data", 554, false},
	}
	for _, tt := range tests {
		name := fmt.Sprint(tt.replies)
		srv := startScript(t, offerChunking, 0, tt.replies)
		conn := srv.dial(t, 5*time.Second)
		srv.log()
		_, err := Send(conn, testFrom, testTo, big)
		checkSendError(t, err, tt.stage, tt.code, tt.temporary)
		if _, err := Send(conn, testFrom, "next@example.net", big); err != nil {
			t.Errorf("%s: the next message: got %v, want nil", name, err)
		}
		wantLog := "MAIL RCPT BDAT RSET MAIL RCPT BDAT ."
		if tt.stage == "data" {
			wantLog = "MAIL RCPT BDAT . RSET MAIL RCPT BDAT ."
		}
		if got := srv.log(); got != wantLog {
			t.Errorf("%s: commands: got %q, want %q", name, got, wantLog)
		}
		srv.mu.Lock()
		last := srv.messages[len(srv.messages)-1]
		srv.mu.Unlock()
		if !bytes.Equal(last.data, want) {
			t.Errorf("%s: the next message came as %d bytes, want %d with its lines made CRLF", name, len(last.data), len(want))
		}
	}

	huge := bytes.Repeat([]byte(strings.Repeat("x", 78)+"\r\n"), 400_000) // more than the socket buffers hold
	srv := startScript(t, offerChunking, 0, map[string]string{".": hangAfter + "552 5.3.4 Message too big for this relay"})
	conn := srv.dial(t, 300*time.Millisecond)
	_, err := Send(conn, testFrom, testTo, huge)
	checkSendError(t, err, "data", 552, false)
	if !conn.broken {
		t.Error("the connection is not marked broken after a message written part way")
	}
}

// TestChunkedAfterIdleDrop sends, over a pooled connection the relay
// dropped while it was idle, a message that goes in one write and one that
// takes several: each goes over a new connection, as the relay cannot have
// had any of it.
func TestChunkedAfterIdleDrop(t *testing.T) {
	t.Parallel()
	for _, size := range []int{1, 3000} {
		srv := smtptest.Start(t, smtptest.Options{})
		p := NewPool(relayFor(srv, TLSNone), 1)
		if _, err := p.Deliver(t.Context(), testFrom, "a@example.net", wireMessage("a@example.net")); err != nil {
			t.Fatal(err)
		}
		srv.DropConnections()
		msg := []byte("Subject: after a drop\r\n\r\n" + strings.Repeat(strings.Repeat("x", 78)+"\r\n", size))
		if _, err := p.Deliver(t.Context(), testFrom, "b@example.net", msg); err != nil {
			t.Errorf("%d lines after an idle drop: got %v, want nil", size, err)
		}
		p.Close()
		if n := srv.Count(); n != 2 {
			t.Errorf("%d lines after an idle drop: the relay has %d messages, want 2", size, n)
		}
	}
}

// TestChunkedSlowRelay sends to a relay that, as Postfix does with what
// came in one read, answers MAIL only once it has queued the message, and
// takes longer to for the second than a command may: over the same
// connection, it gets each message once, taken.
func TestChunkedSlowRelay(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	relay := serveRaw(t, 300*time.Millisecond, func(conn net.Conn) {
		r, w := bufio.NewReader(conn), bufio.NewWriter(conn)
		w.WriteString("220 slow\r\n")
		w.Flush()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch verb, _, _ := strings.Cut(strings.TrimSpace(line), " "); verb {
			case "EHLO":
				w.WriteString("250-slow\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 8BITMIME\r\n")
			case "BDAT":
				var size int
				fmt.Sscanf(line, "BDAT %d", &size)
				data := make([]byte, size)
				if _, err := io.ReadFull(r, data); err != nil {
					return
				}
				mu.Lock()
				got = append(got, string(data))
				n := len(got)
				mu.Unlock()
				if n == 2 {
					time.Sleep(450 * time.Millisecond) // queueing, past the 300 ms a command may take
				}
				w.WriteString("250 2.0.0 Ok: queued\r\n")
			case "QUIT":
				w.WriteString("221 Bye\r\n")
				w.Flush()
				return
			default:
				w.WriteString("250 2.0.0 Ok\r\n")
			}
			if r.Buffered() == 0 {
				w.Flush()
			}
		}
	})
	p := NewPool(relay, 1)
	defer p.Close()
	for i := range 2 {
		if _, err := p.Deliver(t.Context(), testFrom, testTo, fmt.Appendf(nil, "Subject: %d\r\n\r\nbody\r\n", i)); err != nil {
			t.Errorf("Deliver %d: got %v, want nil", i, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Errorf("the relay got %d messages, want 2, each once", len(got))
	}
}

// TestBrokenFollowUpDropsTheConnection sends a message to two recipients
// through a relay that takes one a transaction and then hangs in the
// second: the first recipient has it, and the connection, out of step with
// its replies, is marked broken and not used again.
func TestBrokenFollowUpDropsTheConnection(t *testing.T) {
	t.Parallel()
	hangsInTheSecond := map[string]string{"RCPT TO:<b@example.net>": "452 4.5.3 Error: too many recipients" + then + hang}
	for _, o := range []offer{offerChunking, offerPipelining} {
		srv := startScript(t, o, 1, maps.Clone(hangsInTheSecond))
		conn := srv.dial(t, 300*time.Millisecond)
		if _, err := send(conn, testFrom, []string{"a@example.net", "b@example.net"}, []byte(oddMessage), nil); err != nil {
			t.Fatalf("%s: send: got %v, want nil, as a has it", o, err)
		}
		if !conn.broken {
			t.Errorf("%s: the connection is not marked broken after its second transaction failed", o)
		}

		srv = startScript(t, o, 1, maps.Clone(hangsInTheSecond))
		p := NewPool(srv.relay(300*time.Millisecond), 1)
		res, err := p.DeliverTo(t.Context(), testFrom, []string{"a@example.net", "b@example.net"}, []byte(oddMessage))
		if err != nil {
			t.Fatalf("%s: DeliverTo: got %v, want nil, as a has it", o, err)
		}
		if res.Deferred["b@example.net"] == nil {
			t.Errorf("%s: b: got %v, want deferred", o, res)
		}
		if _, err := p.Deliver(t.Context(), testFrom, "c@example.net", []byte(oddMessage)); err != nil {
			t.Errorf("%s: the next message: got %v, want nil over a new connection", o, err)
		}
		p.Close()
	}
}

// TestIdleConnectionClosedWith421 has the relay say 421 and close each
// connection once it has taken a message, as one does that drops an idle
// connection: the next message goes over a new connection.
func TestIdleConnectionClosedWith421(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	taken := 0
	relay := serveRaw(t, 5*time.Second, func(conn net.Conn) {
		r := bufio.NewReader(conn)
		conn.Write([]byte("220 strict\r\n"))
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			reply := "250 2.0.0 Ok"
			switch verb, _, _ := strings.Cut(strings.TrimSpace(line), " "); verb {
			case "EHLO":
				reply = "250-strict\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 8BITMIME"
			case "BDAT":
				var size int
				fmt.Sscanf(line, "BDAT %d", &size)
				if _, err := io.ReadFull(r, make([]byte, size)); err != nil {
					return
				}
				mu.Lock()
				taken++
				mu.Unlock()
				conn.Write([]byte("250 2.0.0 Ok: queued\r\n421 4.4.2 strict Error: timeout exceeded\r\n"))
				return
			}
			conn.Write([]byte(reply + "\r\n"))
		}
	})
	p := NewPool(relay, 1)
	defer p.Close()
	for _, to := range []string{"a@example.net", "b@example.net"} {
		if _, err := p.Deliver(t.Context(), testFrom, to, []byte(oddMessage)); err != nil {
			t.Errorf("Deliver to %s: got %v, want nil", to, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if taken != 2 {
		t.Errorf("the relay took %d messages, want 2", taken)
	}
}

// TestRepliesOfOddSizes has the relay answer the message with a bare code,
// which RFC 5321 allows, and with a reply longer than maxReply, which
// Herald stops reading rather than hold in memory.
func TestRepliesOfOddSizes(t *testing.T) {
	t.Parallel()
	srv := startScript(t, offerChunking, 0, map[string]string{".": "250"})
	res, err := Send(srv.dial(t, 5*time.Second), testFrom, testTo, []byte(oddMessage))
	if err != nil || res.Reply != "250" {
		t.Errorf("a bare 250: got %q, %v, want 250 and nil", res.Reply, err)
	}

	endless := strings.Repeat("250-"+strings.Repeat("x", 500)+"\r\n", 2*maxReply/500) + "250 2.0.0 Ok"
	srv = startScript(t, offerChunking, 0, map[string]string{".": endless})
	_, err = Send(srv.dial(t, 5*time.Second), testFrom, testTo, []byte(oddMessage))
	if err == nil || !strings.Contains(err.Error(), "a reply of more than") {
		t.Errorf("a reply of %d bytes: got %v, want it refused as too long", len(endless), err)
	}
}

// TestDialRefusesAnEndlessGreeting has a relay answer EHLO with line after
// line, without end: Dial fails once it has read 64 KiB, rather than hold
// whatever the relay sends in memory.
func TestDialRefusesAnEndlessGreeting(t *testing.T) {
	t.Parallel()
	relay := serveRaw(t, 5*time.Second, func(conn net.Conn) {
		conn.Write([]byte("220 endless\r\n"))
		bufio.NewReader(conn).ReadString('\n')
		line := []byte("250-" + strings.Repeat("x", 996) + "\r\n")
		for range 1000 { // 1 MB, more than Herald reads
			if _, err := conn.Write(line); err != nil {
				return
			}
		}
	})
	if _, err := relay.Dial(t.Context()); !errors.Is(err, errDialReplies) {
		t.Errorf("Dial: got %v, want %v", err, errDialReplies)
	}
}

// serveRaw serves each connection to a loopback listener with handle, in
// a goroutine of its own, until the test ends; it returns the relay that
// reaches it.
func serveRaw(t *testing.T, timeout time.Duration, handle func(conn net.Conn)) SMTPRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				handle(conn)
			})
		}
	})
	a := ln.Addr().(*net.TCPAddr)
	return SMTPRelay{Host: a.IP.String(), Port: a.Port, TLS: TLSNone, Timeout: timeout}
}
