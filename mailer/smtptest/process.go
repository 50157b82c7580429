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
// machine. Only Addr, Host, Port, Count and Close work on it. It stops
// when the test ends.
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

// child is a server's process, which answers "count" on its input with
// the messages it has taken, and stops when its input closes.
type child struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	in   io.WriteCloser
	out  *bufio.Reader
	once sync.Once
}

func (c *child) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.in, "count\n"); err != nil {
		return -1
	}
	line, err := c.out.ReadString('\n')
	n, err2 := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || err2 != nil {
		return -1
	}
	return n
}

func (c *child) close() {
	c.once.Do(func() {
		c.in.Close()
		c.cmd.Wait()
	})
}

// serveProcess is the server's process: it prints its address, answers
// each "count" line, and stops when its input ends.
func serveProcess(in io.Reader, out io.Writer) int {
	s, err := start(Options{Discard: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "smtptest:", err)
		return 1
	}
	defer s.Close()
	fmt.Fprintln(out, s.Addr)
	r := bufio.NewScanner(in)
	for r.Scan() {
		if r.Text() == "count" {
			fmt.Fprintln(out, s.Count())
		}
	}
	return 0
}
