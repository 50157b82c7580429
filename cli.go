package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

const usage = `Herald: email marketing and transactional email in one binary.

Usage:
  herald [serve] [--addr 127.0.0.1:8080] [--data ./data] [--log-format text|json]
                [--trusted-proxies 127.0.0.1] [--smtp-addr :25]
  herald user add --email E --role owner|admin [--name N]   (password on stdin)
  herald user password --email E                            (new password on stdin)
  herald apikey add --name N [--scope read,write,send,admin|full]
  herald healthcheck [--addr 127.0.0.1:8080]
  herald backup --out FILE
  herald version

Every subcommand takes --data (env HERALD_DATA). Other settings from the
environment: HERALD_ADDR, HERALD_LOG_FORMAT, HERALD_TRUSTED_PROXIES,
HERALD_SMTP_ADDR, HERALD_SECRET_KEY.
`

// errUsage marks an error in how the command was called; it exits with 2.
var errUsage = errors.New("usage")

// env holds what every command reads from its surroundings.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// run executes one herald command line and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = e.serve(ctx, args)
	case "user":
		err = e.user(ctx, args)
	case "apikey":
		err = e.apikey(ctx, args)
	case "healthcheck":
		err = e.healthcheck(ctx, args)
	case "backup":
		err = e.backup(ctx, args)
	case "version":
		if err = parse(flag.NewFlagSet("herald version", flag.ContinueOnError), args); err != nil {
			break
		}
		fmt.Fprintf(stdout, "herald %s (%s, %s/%s)\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "herald: %v\n\n%s", err, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "herald: %v\n", err)
		return 1
	}
}

// flags returns a flag set for a subcommand with --data already defined.
func (e env) flags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("herald "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	data := fs.String("data", e.envOr("HERALD_DATA", "./data"), "data directory (env HERALD_DATA)")
	return fs, data
}

func (e env) envOr(key, def string) string {
	if v := e.getenv(key); v != "" {
		return v
	}
	return def
}

// parse parses args and refuses stray positional arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}
