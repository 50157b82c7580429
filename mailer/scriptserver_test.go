package mailer

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// hang, as a scripted reply, makes the server stop reading and answering:
// to "." it does so straight after its 354 to DATA. A reply that starts
// with hangAfter is given, and then the server hangs, to "." of a BDAT
// before it reads the message.
const (
	hang      = "hang"
	hangAfter = "hang after "
)

// scriptServer is an SMTP server on loopback, raw over TCP, for what
// go-smtp's server cannot be made to do: refuse DATA itself, answer the
// end of data as a test says, hang, or leave out PIPELINING or CHUNKING.
// It offers STARTTLS, but cannot start TLS. It answers a command with the
// reply scripted for its whole line or, failing that, its verb ("." for
// the end of data, or the last chunk of a message), each used once; or
// else as a server would. It records the commands and messages it gets.
//
// Offering PIPELINING, it holds its replies to MAIL and RCPT until the
// DATA, BDAT or other command that ends a group, so that a client that
// waits for each reply stalls; without it, it notes a command that came
// before the reply to the one before.
type scriptServer struct {
	ln    net.Listener
	offer offer
	// maxRcpts, when set, is how many recipients a message may have: the
	// rest get 452 4.5.3, as from go-smtp's server.
	maxRcpts int
	stop     chan struct{}
	wg       sync.WaitGroup

	mu       sync.Mutex
	replies  map[string]string
	commands []string
	messages []scriptMessage
	ahead    []string
}

// offer is what a scriptServer offers in its reply to EHLO.
type offer int

const (
	offerNone       offer = iota
	offerPipelining       // PIPELINING
	offerChunking         // PIPELINING and CHUNKING
)

func (o offer) String() string {
	return [...]string{"one by one", "pipelined", "chunked"}[o]
}

// offers is each offer, for the tests that go through them all.
var offers = []offer{offerChunking, offerPipelining, offerNone}

// scriptMessage is a message as it came: its recipients, and its DATA as
// it was on the wire, dot-stuffed, the end included; or, when chunked, its
// BDAT chunks together.
type scriptMessage struct {
	to      []string
	data    []byte
	chunked bool
}

// startScript starts a server that offers what o says, takes maxRcpts
// recipients a message when not 0, and answers as replies say; it stops
// when the test ends.
func startScript(t *testing.T, o offer, maxRcpts int, replies map[string]string) *scriptServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scriptServer{ln: ln, offer: o, maxRcpts: maxRcpts, replies: replies, stop: make(chan struct{})}
	s.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() {
				defer conn.Close()
				go func() {
					<-s.stop
					conn.Close()
				}()
				s.serve(conn)
			})
		}
	})
	t.Cleanup(func() {
		close(s.stop)
		ln.Close()
		s.wg.Wait()
	})
	return s
}

// relay points a relay at the server, with a timeout short enough that a
// client that stalls fails the test soon.
func (s *scriptServer) relay(timeout time.Duration) SMTPRelay {
	a := s.ln.Addr().(*net.TCPAddr)
	return SMTPRelay{Host: a.IP.String(), Port: a.Port, TLS: TLSNone, Timeout: timeout}
}

// dial opens a connection to the server, closed when the test ends.
func (s *scriptServer) dial(t *testing.T, timeout time.Duration) *SMTPConn {
	t.Helper()
	c, err := s.relay(timeout).Dial(t.Context())
	if err != nil {
		t.Fatalf("Dial: got %v, want nil", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// then joins the replies scripted for the same command one use after
// another.
const then = "\x00then\x00"

// reply returns the reply scripted for cmd, or def.
func (s *scriptServer) reply(cmd, verb, def string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range []string{cmd, verb} {
		if r, ok := s.replies[key]; ok {
			first, rest, more := strings.Cut(r, then)
			if more {
				s.replies[key] = rest
			} else {
				delete(s.replies, key)
			}
			return first
		}
	}
	return def
}

func (s *scriptServer) serve(conn net.Conn) {
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(conn)
	w := bufio.NewWriter(conn)
	w.WriteString("220 script ESMTP\r\n")
	w.Flush()
	mailOK := false
	var to []string
	var chunks []byte
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(cmd, " ", 2)[0])
		s.mu.Lock()
		s.commands = append(s.commands, verb)
		if s.offer == offerNone && r.Buffered() > 0 {
			s.ahead = append(s.ahead, cmd)
		}
		s.mu.Unlock()
		var rep string
		switch verb {
		case "EHLO":
			rep = "250-script\r\n250-STARTTLS\r\n" + [...]string{"", "250-PIPELINING\r\n", "250-PIPELINING\r\n250-CHUNKING\r\n"}[s.offer] + "250 8BITMIME"
		case "STARTTLS":
			rep = s.reply(cmd, verb, "454 4.7.0 TLS not available")
		case "MAIL":
			rep = s.reply(cmd, verb, "250 2.1.0 Ok")
			mailOK, to = strings.HasPrefix(rep, "2"), nil
		case "RCPT":
			def := "250 2.1.5 Ok"
			if !mailOK {
				def = "503 5.5.1 Error: need MAIL command"
			} else if s.maxRcpts > 0 && len(to) >= s.maxRcpts {
				def = "452 4.5.3 Error: too many recipients"
			}
			if rep = s.reply(cmd, verb, def); strings.HasPrefix(rep, "2") {
				to = append(to, strings.TrimSuffix(strings.TrimPrefix(cmd, "RCPT TO:<"), ">"))
			}
		case "DATA":
			def := "354 End data with <CR><LF>.<CR><LF>"
			if !mailOK || len(to) == 0 {
				def = "554 5.5.1 Error: no valid recipients"
			}
			if rep = s.reply(cmd, verb, def); strings.HasPrefix(rep, "354") {
				w.WriteString(rep + "\r\n")
				w.Flush()
				if rep = s.data(r, to); rep == "" {
					return
				}
			}
			mailOK, to = false, nil
		case "BDAT":
			// The chunk follows the command whatever the reply, unless the
			// reply is to hang.
			var size int
			if _, err := fmt.Sscanf(cmd, "BDAT %d", &size); err != nil || s.offer != offerChunking {
				rep = "502 5.5.2 Error: command not recognized"
				break
			}
			last := strings.HasSuffix(cmd, " LAST")
			if last {
				rep = s.reply(".", ".", "250 2.0.0 Ok: queued as 4F2")
			} else {
				rep = s.reply(cmd, verb, "250 2.0.0 Ok")
			}
			if rep == hang {
				break
			}
			if after, ok := strings.CutPrefix(rep, hangAfter); ok {
				w.WriteString(after + "\r\n")
				rep = hang
				break
			}
			chunk := make([]byte, size)
			if _, err := io.ReadFull(r, chunk); err != nil {
				return
			}
			if !mailOK || len(to) == 0 {
				rep, chunks = "554 5.5.1 Error: no valid recipients", nil
			} else if chunks = append(chunks, chunk...); last {
				s.mu.Lock()
				s.commands = append(s.commands, ".")
				s.messages = append(s.messages, scriptMessage{to: to, data: chunks, chunked: true})
				s.mu.Unlock()
			}
			if last || rep[0] != '2' {
				mailOK, to, chunks = false, nil, nil
			}
		case "RSET":
			rep, mailOK, to, chunks = "250 2.0.0 Ok", false, nil, nil
		case "QUIT":
			w.WriteString("221 2.0.0 Bye\r\n")
			w.Flush()
			return
		default:
			rep = "502 5.5.2 Error: command not recognized"
		}
		if rep == hang {
			w.Flush()
			<-s.stop
			return
		}
		w.WriteString(rep + "\r\n")
		if s.offer == offerNone || verb != "MAIL" && verb != "RCPT" {
			w.Flush()
		}
	}
}

// data reads a message's DATA and returns the reply to it; or, when that
// is to hang, waits instead of reading, and returns "" as it does when
// the client goes before the end of the data.
func (s *scriptServer) data(r *bufio.Reader, to []string) string {
	if rep := s.reply(".", ".", "250 2.0.0 Ok: queued as 4F2"); rep != hang {
		var data []byte
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				return ""
			}
			data = append(data, line...)
			if string(line) == ".\r\n" {
				break
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.commands = append(s.commands, ".")
		s.messages = append(s.messages, scriptMessage{to: to, data: data})
		return rep
	}
	<-s.stop
	return ""
}

// log returns the verbs of the commands received so far, "." for each
// message, and forgets them.
func (s *scriptServer) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := strings.Join(s.commands, " ")
	s.commands = nil
	return l
}
