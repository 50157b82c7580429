package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"herald/store"
)

// syncBuffer is a bytes.Buffer safe to read while a command writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runCLI runs one command line in-process.
func runCLI(t testing.TB, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func openData(t testing.TB, dir string) *store.Store {
	t.Helper()
	box, err := store.LoadSecretBox(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), dir, box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestVersionAndUsage(t *testing.T) {
	t.Parallel()
	if code, out, _ := runCLI(t, "", "version"); code != 0 || !strings.HasPrefix(out, "herald ") {
		t.Fatalf("version: got %d %q", code, out)
	}
	if code, _, _ := runCLI(t, "", "version", "junk"); code != 2 {
		t.Fatalf("version junk: got %d, want 2", code)
	}
	if code, _, errOut := runCLI(t, "", "frobnicate"); code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Fatalf("unknown command: got %d %q, want 2 and a message", code, errOut)
	}
	if code, _, errOut := runCLI(t, "", "serve", "--log-format", "xml", "--data", t.TempDir()); code != 2 || !strings.Contains(errOut, "text or json") {
		t.Fatalf("bad log format: got %d %q", code, errOut)
	}
}

func TestUserAdd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "a long enough password\n", "user", "add", "--email", "boss@example.com", "--role", "owner", "--data", dir)
	if code != 0 || !strings.Contains(out, "Created owner boss@example.com") || !strings.Contains(errOut, "creating a new one") {
		t.Fatalf("user add: got %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "another long password\n", "user", "add", "--email", "BOSS@example.com", "--role", "admin", "--data", dir); code != 1 || !strings.Contains(errOut, "a user with the email boss@example.com already exists") {
		t.Fatalf("duplicate user: got %d %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "short\n", "user", "add", "--email", "x@example.com", "--role", "admin", "--data", dir); code != 1 || !strings.Contains(errOut, "at least 10") {
		t.Fatalf("short password: got %d %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "", "user", "add", "--email", "x@example.com", "--role", "admin", "--data", dir); code != 1 || !strings.Contains(errOut, "no password") {
		t.Fatalf("no password: got %d %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "pw pw pw pw pw\n", "user", "add", "--email", "x@example.com", "--data", dir); code != 2 {
		t.Fatalf("missing role: got %d, want 2", code)
	}
	if code, _, _ := runCLI(t, "a brand new password\n", "user", "password", "--email", "boss@example.com", "--data", dir); code != 0 {
		t.Fatalf("user password: got %d", code)
	}
	u, err := openData(t, dir).UserByEmail(context.Background(), "boss@example.com")
	if err != nil || u.Role != store.RoleOwner || !store.CheckPassword(u.PasswordHash, "a brand new password") {
		t.Fatalf("stored user: got %+v, %v", u, err)
	}
}

func TestAPIKeyAddPrintsTheKeyAloneOnTheLastLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "", "apikey", "add", "--name", "Shop", "--data", dir)
	if code != 0 {
		t.Fatalf("apikey add: got %d %q", code, errOut)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	last := lines[len(lines)-1]
	if !regexp.MustCompile(`^herald_[a-z0-9]+_[a-z0-9]+$`).MatchString(last) {
		t.Fatalf("last line: got %q, want the key alone", last)
	}
	k, err := openData(t, dir).AuthenticateAPIKey(context.Background(), last)
	if err != nil || k.Name != "Shop" || !reflect.DeepEqual(k.Scopes, store.Scopes) {
		t.Fatalf("printed key: got %+v, %v, want every scope", k, err)
	}
	code, out, _ = runCLI(t, "", "apikey", "add", "--name", "Shop server", "--scope", "send, read", "--data", dir)
	lines = strings.Split(strings.TrimRight(out, "\n"), "\n")
	k, err = openData(t, dir).AuthenticateAPIKey(context.Background(), lines[len(lines)-1])
	if code != 0 || err != nil || !reflect.DeepEqual(k.Scopes, []string{store.ScopeRead, store.ScopeSend}) {
		t.Fatalf("two scopes: got %d %+v, %v", code, k, err)
	}
	if code, _, errOut := runCLI(t, "", "apikey", "add", "--name", "R", "--scope", "root", "--data", dir); code != 1 || !strings.Contains(errOut, "scope") {
		t.Fatalf("bad scope: got %d %q", code, errOut)
	}
}

func TestBackupMakesAUsableCopy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	runCLI(t, "a long enough password\n", "user", "add", "--email", "boss@example.com", "--role", "owner", "--data", dir)
	out := filepath.Join(t.TempDir(), "backup.db")
	if code, _, errOut := runCLI(t, "", "backup", "--out", out, "--data", dir); code != 0 {
		t.Fatalf("backup: got %d %q", code, errOut)
	}
	copyDir := t.TempDir()
	if err := os.Rename(out, filepath.Join(copyDir, store.DBFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := openData(t, copyDir).UserByEmail(context.Background(), "boss@example.com"); err != nil {
		t.Fatalf("user in backup: %v", err)
	}
	again := filepath.Join(copyDir, store.DBFile)
	if code, _, errOut := runCLI(t, "", "backup", "--out", again, "--data", dir); code != 1 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("backup over an existing file: got %d %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "", "backup", "--data", dir); code != 2 {
		t.Fatalf("backup without --out: got %d, want 2", code)
	}
	if fi, err := os.Stat(filepath.Join(copyDir, store.DBFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: got %v, %v, want mode 0600", fi, err)
	}
	typo := filepath.Join(t.TempDir(), "dta")
	if code, _, errOut := runCLI(t, "", "backup", "--out", filepath.Join(t.TempDir(), "b.db"), "--data", typo); code != 1 || !strings.Contains(errOut, "no Herald database") {
		t.Fatalf("backup of a missing data dir: got %d %q, want 1 and a clear error", code, errOut)
	}
	if _, err := os.Stat(typo); !os.IsNotExist(err) {
		t.Fatalf("backup of a missing data dir created it: %v", err)
	}
}

var setupLink = regexp.MustCompile(`http://127\.0\.0\.1:(\d+)/setup\?token=[a-z0-9]+`)

// waitFor polls until f returns a non-empty string or the deadline passes.
func waitFor(t testing.TB, what string, f func() string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if v := f(); v != "" {
			return v
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
	return ""
}

// stopServe ends a serve that run started and returns its log, once it
// has exited with 0.
func stopServe(t *testing.T, cancel context.CancelFunc, done <-chan int, stderr *syncBuffer) string {
	t.Helper()
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exit code: got %d, want 0: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	return stderr.String()
}

// checkLogOrder fails unless steps are logged in this order.
func checkLogOrder(t *testing.T, logs string, steps ...string) {
	t.Helper()
	last := -1
	for _, step := range steps {
		i := strings.Index(logs, step)
		if i < last {
			t.Fatalf("shutdown order: %q logged out of order in %s", step, logs)
		}
		last = i
	}
}

func TestServeFirstRunHealthcheckAndOrderlyShutdown(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--data", dir}, strings.NewReader(""), &stdout, &stderr)
	}()
	link := waitFor(t, "the setup link", func() string { return setupLink.FindString(stdout.String()) })
	addr := "127.0.0.1:" + setupLink.FindStringSubmatch(link)[1]
	waitFor(t, "listening", func() string {
		if strings.Contains(stderr.String(), "herald listening") {
			return "yes"
		}
		return ""
	})
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "Create owner account") {
		t.Fatalf("setup link: got %d", resp.StatusCode)
	}
	if fi, err := os.Stat(filepath.Join(dir, store.SecretKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret key file: got %v, %v, want mode 0600", fi, err)
	}
	if code, out, errOut := runCLI(t, "", "healthcheck", "--addr", addr); code != 0 || !strings.Contains(out, `"database":"ok"`) {
		t.Fatalf("healthcheck: got %d %q %q", code, out, errOut)
	}

	logs := stopServe(t, cancel, done, &stderr)
	checkLogOrder(t, logs, "shutting down", "http server stopped", "scheduler stopped", "imports stopped",
		"transactional lane stopped", "campaign dispatcher stopped", "database stopped")
	if code, _, _ := runCLI(t, "", "healthcheck", "--addr", addr); code != 1 {
		t.Fatalf("healthcheck after shutdown: got %d, want 1", code)
	}
}

// TestBinaryFirstRunFromEnvironment builds the real binary, starts it the way
// an operator would with HERALD_ADDR and HERALD_DATA, and stops it with SIGTERM.
func TestBinaryFirstRunFromEnvironment(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := herald(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := filepath.Join(t.TempDir(), "data")
	cmd := exec.Command(bin, "--log-format", "json")
	cmd.Env = append(os.Environ(), "HERALD_ADDR="+addr, "HERALD_DATA="+dir)
	var stdout syncBuffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	logLines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case logLines <- sc.Text():
			default:
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})

	line := <-logLines
	var entry map[string]any
	if err := json.Unmarshal([]byte(line), &entry); err != nil || entry["msg"] == nil {
		t.Fatalf("--log-format json: first log line is not JSON: %q", line)
	}
	link := waitFor(t, "the setup link", func() string { return setupLink.FindString(stdout.String()) })
	if !strings.Contains(link, addr) {
		t.Fatalf("setup link %q is not on HERALD_ADDR %s", link, addr)
	}
	waitFor(t, "healthz", func() string {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return ""
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return ""
		}
		return "ok"
	})
	if _, err := os.Stat(filepath.Join(dir, store.DBFile)); err != nil {
		t.Fatalf("database not created under HERALD_DATA: %v", err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			close(logLines)
			var log []string
			for l := range logLines {
				log = append(log, l)
			}
			t.Fatalf("exit after SIGTERM: %v\n%s", err, strings.Join(log, "\n"))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("herald did not stop on SIGTERM")
	}
}
