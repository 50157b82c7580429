package smtptest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// processEnv, set to "1", makes a test binary that imports this package a
// discarding SMTP server instead: see StartProcess.
const processEnv = "HERALD_SMTPTEST_PROCESS"

func init() {
	if os.Getenv(processEnv) == "1" {
		os.Exit(serveProcess(os.Stdin, os.Stdout))
	}
}

// StartProcess starts a discarding server (Options{Discard: true}) in a
// process of its own, the test binary run again, so that a benchmark's
// CPU time is the sender's alone, as it is when the relay is another
// machine. It keeps the recipients' addresses, so that Stats counts them
// apart. Only Addr, Host, Port, Count, Stats and Close work on it. It
// stops when the test ends.
func StartProcess(t testing.TB) *Server {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), processEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("smtptest: start the server's process: %v", err)
	}
	c := &child{cmd: cmd, in: in, out: bufio.NewReader(out)}
	addr, err := c.out.ReadString('\n')
	if err != nil {
		c.close()
		t.Fatalf("smtptest: the server's process gave no address: %v", err)
	}
	s := &Server{Addr: strings.TrimSpace(addr), child: c}
	t.Cleanup(s.Close)
	return s
}

// child is a server's process, which answers "count" and "stats" on its
// input, and stops when its input closes.
type child struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	in   io.WriteCloser
	out  *bufio.Reader
	once sync.Once
}

// ask sends the process a question and returns the fields of its answer,
// or nil if it gave none.
func (c *child) ask(question string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.in, question+"\n"); err != nil {
		return nil
	}
	line, err := c.out.ReadString('\n')
	if err != nil {
		return nil
	}
	return strings.Fields(line)
}

func (c *child) count() int {
	f := c.ask("count")
	if len(f) != 1 {
		return -1
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return -1
	}
	return n
}

// stats asks for the Stats, which travel as four numbers: the times in
// nanoseconds since 1970, 0 for none.
func (c *child) stats() Stats {
	f := c.ask("stats")
	var n [4]int64
	if len(f) != len(n) {
		return Stats{Messages: -1, Recipients: -1}
	}
	for i := range n {
		var err error
		if n[i], err = strconv.ParseInt(f[i], 10, 64); err != nil {
			return Stats{Messages: -1, Recipients: -1}
		}
	}
	st := Stats{Messages: int(n[0]), Recipients: int(n[1])}
	if n[2] != 0 {
		st.First, st.Last = time.Unix(0, n[2]), time.Unix(0, n[3])
	}
	return st
}

func (c *child) close() {
	c.once.Do(func() {
		c.in.Close()
		c.cmd.Wait()
	})
}

// serveProcess is the server's process: it prints its address, answers
// each "count" and "stats" line, and stops when its input ends.
func serveProcess(in io.Reader, out io.Writer) int {
	s, err := start(Options{Discard: true, Recipients: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "smtptest:", err)
		return 1
	}
	defer s.Close()
	fmt.Fprintln(out, s.Addr)
	r := bufio.NewScanner(in)
	for r.Scan() {
		switch r.Text() {
		case "count":
			fmt.Fprintln(out, s.Count())
		case "stats":
			st := s.Stats()
			var first, last int64
			if st.Messages > 0 {
				first, last = st.First.UnixNano(), st.Last.UnixNano()
			}
			fmt.Fprintln(out, st.Messages, st.Recipients, first, last)
		}
	}
	return 0
}
