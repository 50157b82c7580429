package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"herald/store"
)

func (e env) user(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "password") {
		return fmt.Errorf("%w: herald user add|password", errUsage)
	}
	sub := args[0]
	fs, data := e.flags("user " + sub)
	email := fs.String("email", "", "the user's email address")
	role := store.RoleOwner
	var name *string
	if sub == "add" {
		fs.StringVar(&role, "role", "", "owner or admin")
		name = fs.String("name", "", "the user's name")
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *email == "" || (sub == "add" && role == "") {
		return fmt.Errorf("%w: --email is required, and --role for user add", errUsage)
	}
	password, err := e.readPassword()
	if err != nil {
		return err
	}
	missing := createLoudly
	if sub == "password" {
		missing = mustExist
	}
	st, err := e.openStore(ctx, *data, missing)
	if err != nil {
		return err
	}
	defer st.Close()
	if sub == "password" {
		if err := st.SetPassword(ctx, *email, password); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Password changed for %s; their sessions were signed out.\n", *email)
		return nil
	}
	u, err := st.CreateUser(ctx, store.NewUser{Email: *email, Name: *name, Role: role, Password: password})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Created %s %s (id %d).\n", u.Role, u.Email, u.ID)
	return nil
}

// readPassword prompts twice on a terminal, or reads the first line of stdin.
func (e env) readPassword() (string, error) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(e.stderr, "Password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(e.stderr, "Password again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", err
		}
		if string(p1) != string(p2) {
			return "", errors.New("the two passwords differ")
		}
		return string(p1), nil
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}

func (e env) apikey(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return fmt.Errorf("%w: herald apikey add --name N", errUsage)
	}
	fs, data := e.flags("apikey add")
	name := fs.String("name", "", "what the key is for")
	scope := fs.String("scope", store.ScopeFull, "scopes, separated by commas: read, write, send, admin, or full for all four")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	st, err := e.openStore(ctx, *data, createLoudly)
	if err != nil {
		return err
	}
	defer st.Close()
	var scopes []string
	for _, sc := range strings.Split(*scope, ",") {
		scopes = append(scopes, strings.TrimSpace(sc))
	}
	k, secret, err := st.CreateAPIKey(ctx, store.NewAPIKey{Name: *name, Scopes: scopes})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Created API key %q (scopes %s, prefix %s). It is shown only now:\n%s\n", k.Name, strings.Join(k.Scopes, ", "), k.Prefix, secret)
	return nil
}

func (e env) healthcheck(ctx context.Context, args []string) error {
	fs, _ := e.flags("healthcheck")
	addr := fs.String("addr", e.envOr("HERALD_ADDR", "127.0.0.1:8080"), "address Herald listens on (env HERALD_ADDR)")
	if err := parse(fs, args); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("%w: --addr %q: %v", errUsage, *addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: %s %s", resp.Status, strings.TrimSpace(string(body)))
	}
	fmt.Fprintln(e.stdout, strings.TrimSpace(string(body)))
	return nil
}

func (e env) backup(ctx context.Context, args []string) error {
	fs, data := e.flags("backup")
	out := fs.String("out", "", "file to write the backup to; must not exist")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: --out is required", errUsage)
	}
	st, err := e.openStore(ctx, *data, mustExist)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Backup(ctx, *out); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Backed up %s to %s.\n", st.Path(), *out)
	return nil
}
