package inbound

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// imapServer is a small IMAP server on a loopback port, written for these
// tests: no IMAP server can be started here otherwise. It serves one
// folder whose messages keep their UIDs and flags across sessions, as a
// real server's do, and removes them only on EXPUNGE.
type imapServer struct {
	loopback
	pass    string
	folder  string
	uidplus bool
	// readOnly selects the folder read-only; nilBody holds UIDs whose
	// body the server cannot give.
	readOnly bool
	nilBody  map[int]bool

	mu          sync.Mutex
	box         []imapStored
	fetched     []int    // the UIDs whose bodies were fetched, in order
	flagged     []int    // the UIDs flagged \Deleted, in order
	listed      []string // the sequence sets of the FETCH commands
	logins      []string // the password of each LOGIN
	expunges    []string // the EXPUNGE and UID EXPUNGE commands, with their sets
	dropExpunge int      // how many expunges to answer by hanging up
}

type imapStored struct {
	uid           int
	body          string
	deleted, seen bool
}

// newIMAPServer serves msgs in folder INBOX, with mode's TLS, until the
// test ends.
func newIMAPServer(t *testing.T, mode string, msgs ...string) *imapServer {
	t.Helper()
	s := &imapServer{pass: "secret", folder: "INBOX", uidplus: true}
	for i, m := range msgs {
		// UIDs need not start at 1 nor be dense.
		s.box = append(s.box, imapStored{uid: 10 + 2*i, body: m})
	}
	s.start(t, mode, s.serve)
	return s
}

// config is the poller configuration that reaches this server.
func (s *imapServer) config() PollerConfig {
	cfg := s.loopback.config(IMAP, s.pass)
	cfg.Folder = s.folder
	return cfg
}

func (s *imapServer) serve(c net.Conn) {
	defer func() { c.Close() }()
	if s.mode == TLSImplicit {
		c = tls.Server(c, s.tls)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	fmt.Fprint(c, "* OK test IMAP server ready\r\n")
	for {
		tag, args, err := readCommand(c, r)
		if err != nil || len(args) == 0 {
			return
		}
		cmd := strings.ToUpper(args[0])
		if cmd == "UID" && len(args) > 1 {
			cmd, args = "UID "+strings.ToUpper(args[1]), args[1:]
		}
		switch cmd {
		case "STARTTLS":
			fmt.Fprintf(c, "%s OK begin TLS\r\n", tag)
			c = tls.Server(c, s.tls)
			r = bufio.NewReader(c)
		case "LOGOUT":
			fmt.Fprintf(c, "* BYE see you\r\n%s OK LOGOUT completed\r\n", tag)
			return
		default:
			reply, refusal, hangUp := s.answer(cmd, args[1:])
			switch {
			case hangUp:
				return
			case refusal != "":
				io.WriteString(c, tag+" "+refusal+"\r\n")
			case cmd == "SELECT" && s.readOnly:
				io.WriteString(c, reply+tag+" OK [READ-ONLY] SELECT completed\r\n")
			default:
				io.WriteString(c, reply+tag+" OK "+cmd+" completed\r\n")
			}
		}
	}
}

// readCommand reads one command line, asking for each literal in it, and
// splits it into its tag and arguments (quoted strings and literals
// unquoted).
func readCommand(c net.Conn, r *bufio.Reader) (string, []string, error) {
	var line strings.Builder
	var lits []string
	for {
		part, err := r.ReadString('\n')
		if err != nil {
			return "", nil, err
		}
		part = strings.TrimRight(part, "\r\n")
		open := strings.LastIndexByte(part, '{')
		if !strings.HasSuffix(part, "}") || open < 0 {
			line.WriteString(part)
			break
		}
		n, err := strconv.Atoi(part[open+1 : len(part)-1])
		if err != nil {
			return "", nil, err
		}
		fmt.Fprint(c, "+ go ahead\r\n")
		lit := make([]byte, n)
		if _, err := io.ReadFull(r, lit); err != nil {
			return "", nil, err
		}
		line.WriteString(part[:open] + "\x00" + strconv.Itoa(len(lits)))
		lits = append(lits, string(lit))
	}
	var args []string
	rest := line.String()
	for rest != "" {
		rest = strings.TrimLeft(rest, " ")
		switch {
		case strings.HasPrefix(rest, `"`):
			var b strings.Builder
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' {
					i++
				}
				b.WriteByte(rest[i])
			}
			args, rest = append(args, b.String()), rest[min(i+1, len(rest)):]
		case strings.HasPrefix(rest, "\x00"):
			end := strings.IndexByte(rest, ' ')
			if end < 0 {
				end = len(rest)
			}
			n, _ := strconv.Atoi(rest[1:end])
			args, rest = append(args, lits[n]), rest[end:]
		case strings.HasPrefix(rest, "("):
			end := strings.IndexByte(rest, ')') + 1
			args, rest = append(args, rest[:end]), rest[end:]
		default:
			end := strings.IndexByte(rest, ' ')
			if end < 0 {
				end = len(rest)
			}
			args, rest = append(args, rest[:end]), rest[end:]
		}
	}
	if len(args) == 0 {
		return "", nil, io.ErrUnexpectedEOF
	}
	return args[0], args[1:], nil
}

// answer is the untagged part of the reply to one command, or the status
// and text of a refusal; hangUp says to close the connection instead.
func (s *imapServer) answer(cmd string, args []string) (reply, refusal string, hangUp bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	switch cmd {
	case "CAPABILITY":
		b.WriteString("* CAPABILITY IMAP4rev1 STARTTLS")
		if s.uidplus {
			b.WriteString(" UIDPLUS")
		}
		b.WriteString("\r\n")
	case "LOGIN":
		s.logins = append(s.logins, args[len(args)-1])
		if len(args) != 2 || args[1] != s.pass {
			return "", "NO [AUTHENTICATIONFAILED] invalid login", false
		}
	case "SELECT":
		if args[0] != s.folder {
			return "", "NO [NONEXISTENT] no such mailbox", false
		}
		fmt.Fprintf(&b, "* FLAGS (\\Seen \\Deleted)\r\n* %d EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 77] UIDs valid\r\n", len(s.box))
	case "FETCH", "UID FETCH":
		if cmd == "FETCH" {
			s.listed = append(s.listed, args[0])
		}
		lo, hi, _ := strings.Cut(args[0], ":")
		first, _ := strconv.Atoi(lo)
		last, _ := strconv.Atoi(hi)
		for i, m := range s.box {
			if cmd == "FETCH" && (i+1 < first || i+1 > last) || cmd == "UID FETCH" && args[0] != strconv.Itoa(m.uid) {
				continue
			}
			if !strings.Contains(args[1], "BODY") {
				fmt.Fprintf(&b, "* %d FETCH (UID %d RFC822.SIZE %d FLAGS (%s))\r\n", i+1, m.uid, len(m.body), m.flags())
				continue
			}
			s.fetched = append(s.fetched, m.uid)
			if !strings.Contains(args[1], "PEEK") {
				s.box[i].seen = true
			}
			if s.nilBody[m.uid] {
				fmt.Fprintf(&b, "* %d FETCH (UID %d BODY[] NIL)\r\n", i+1, m.uid)
				continue
			}
			// A server sends data items in any order, unsolicited flags too.
			fmt.Fprintf(&b, "* %d FETCH (FLAGS (%s))\r\n* %d FETCH (BODY[] {%d}\r\n%s UID %d)\r\n", i+1, m.flags(), i+1, len(m.body), m.body, m.uid)
		}
	case "UID STORE":
		for i, m := range s.box {
			if strconv.Itoa(m.uid) == args[0] && args[1] == "+FLAGS.SILENT" && args[2] == `(\Deleted)` {
				s.box[i].deleted = true
				s.flagged = append(s.flagged, m.uid)
			}
		}
	case "EXPUNGE", "UID EXPUNGE":
		if s.dropExpunge > 0 {
			s.dropExpunge--
			return "", "", true
		}
		s.expunges = append(s.expunges, strings.TrimSpace(cmd+" "+strings.Join(args, " ")))
		set := map[int]bool{}
		if cmd == "UID EXPUNGE" {
			for _, r := range strings.Split(args[0], ",") {
				lo, hi, _ := strings.Cut(r, ":")
				a, _ := strconv.Atoi(lo)
				z, err := strconv.Atoi(hi)
				if err != nil {
					z = a
				}
				for u := a; u <= z; u++ {
					set[u] = true
				}
			}
		}
		for i := len(s.box) - 1; i >= 0; i-- {
			if s.box[i].deleted && (cmd == "EXPUNGE" || set[s.box[i].uid]) {
				fmt.Fprintf(&b, "* %d EXPUNGE\r\n", i+1)
				s.box = slices.Delete(s.box, i, i+1)
			}
		}
	default:
		return "", "BAD unknown command", false
	}
	return b.String(), "", false
}

func (m imapStored) flags() string {
	f := []string{"$Label[1"} // a keyword may hold a bracket
	if m.seen {
		f = append(f, `\Seen`)
	}
	if m.deleted {
		f = append(f, `\Deleted`)
	}
	return strings.Join(f, " ")
}

// state returns the folder's messages and the UIDs fetched.
func (s *imapServer) state() (box []imapStored, fetched []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.box), slices.Clone(s.fetched)
}

// The testMailbox view of the server: what is left, the UIDs fetched and
// flagged \Deleted.
func (s *imapServer) left() []string    { box, _ := s.state(); return bodies(box) }
func (s *imapServer) fetchedIDs() []int { _, f := s.state(); return f }
func (s *imapServer) removedIDs() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.flagged)
}
