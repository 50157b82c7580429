package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"herald/scheduler"
	"herald/scheduler/automations"
	"herald/scheduler/imports"
	"herald/scheduler/inbound"
	"herald/scheduler/netguard"
	"herald/scheduler/outbound"
	"herald/scheduler/sources"
	"herald/scheduler/webhooks"
	"herald/store"
	"herald/web"
)

// shutdownTimeout bounds how long in-flight requests get to finish on shutdown.
const shutdownTimeout = 15 * time.Second

func newLogger(w io.Writer, format string) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("%w: --log-format must be text or json, not %q", errUsage, format)
}

// How a command treats a data directory that has no database yet.
const (
	createQuietly = iota // serve: a first run creates it
	createLoudly         // say so, in case --data has a typo
	mustExist            // refuse: there is nothing to work on
)

// openStore opens the data directory's database with its secret key.
func (e env) openStore(ctx context.Context, dir string, missing int) (*store.Store, error) {
	if _, err := os.Stat(filepath.Join(dir, store.DBFile)); errors.Is(err, os.ErrNotExist) {
		switch missing {
		case mustExist:
			return nil, fmt.Errorf("no Herald database in %s: check --data (or HERALD_DATA)", dir)
		case createLoudly:
			fmt.Fprintf(e.stderr, "No Herald database in %s yet: creating a new one.\n", dir)
		}
	}
	box, err := store.LoadSecretBox(dir, e.getenv("HERALD_SECRET_KEY"))
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, dir, box)
}

func (e env) serve(ctx context.Context, args []string) error {
	fs, data := e.flags("serve")
	addr := fs.String("addr", e.envOr("HERALD_ADDR", "127.0.0.1:8080"), "address to listen on (env HERALD_ADDR)")
	proxies := fs.String("trusted-proxies", e.getenv("HERALD_TRUSTED_PROXIES"), "comma-separated IPs or CIDR ranges of reverse proxies whose X-Forwarded-For to believe (env HERALD_TRUSTED_PROXIES)")
	smtpAddr := fs.String("smtp-addr", e.getenv("HERALD_SMTP_ADDR"), "address of the SMTP listener that takes bounces and unsubscribe mail, as :25; empty: off (env HERALD_SMTP_ADDR)")
	logFormat := fs.String("log-format", e.envOr("HERALD_LOG_FORMAT", "text"), "log format: text or json (env HERALD_LOG_FORMAT)")
	if err := parse(fs, args); err != nil {
		return err
	}
	log, err := newLogger(e.stderr, *logFormat)
	if err != nil {
		return err
	}
	if e.getenv("GOGC") == "" {
		debug.SetGCPercent(outbound.GCPercent)
	}
	if e.getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(outbound.MemoryLimit)
	}
	trusted, err := web.ParseProxies(*proxies)
	if err != nil {
		return fmt.Errorf("%w: --trusted-proxies: %v", errUsage, err)
	}
	st, err := e.openStore(ctx, *data, createQuietly)
	if err != nil {
		return err
	}
	lns, err := listen(*addr, *smtpAddr)
	if err != nil {
		st.Close()
		return err
	}
	parts, err := e.assemble(ctx, st, log, lns, trusted, *data)
	if err != nil {
		lns.close()
		st.Close()
		return err
	}
	log.Info("herald listening", "addr", "http://"+lns.http.Addr().String(), "data", *data, "version", buildVersion())
	return runParts(ctx, log, parts...)
}

// assemble builds Herald's long-lived parts, in the order they start: the
// database, the workers, the cron scheduler, the SMTP listener when there
// is one, and the HTTP server. They stop in the reverse order.
func (e env) assemble(ctx context.Context, st *store.Store, log *slog.Logger, lns listeners, trusted []*net.IPNet, data string) ([]part, error) {
	if err := e.announceSetup(ctx, st, log, lns.http.Addr().String()); err != nil {
		return nil, err
	}
	if n, err := st.UnreadableSecrets(ctx); err != nil || n > 0 {
		log.Warn("stored relay passwords cannot be decrypted with this secret key; restore the key that saved them or enter the passwords again",
			"relays", n, "err", err)
	}
	guard := &netguard.Guard{Allowed: func(host string) bool {
		g, err := st.General(context.Background())
		return err == nil && g.AllowsHost(host)
	}}
	out, err := outbound.New(outbound.Config{Store: st, Log: log, Guard: guard})
	if err != nil {
		return nil, err
	}
	importer := imports.NewWorker(st, log)
	hooks, err := webhooks.New(webhooks.Config{Store: st, Log: log, Guard: guard, Notify: out.NotifyOwners})
	if err != nil {
		return nil, err
	}
	srcs := sources.New(sources.Config{Store: st, Log: log, Guard: guard, Notify: out.NotifyOwners})
	flows := automations.New(automations.Config{Store: st, Outbound: out, Log: log})
	sched, err := scheduler.New(log, scheduler.Housekeeping(st, log), scheduler.AttributeIndexes(st, log),
		scheduler.Job{Name: "start scheduled campaigns", Spec: "@every 5s", Run: out.StartDue},
		scheduler.Job{Name: "pick A/B test winners", Spec: "@every 15s", Run: out.DecideABTests},
		scheduler.Job{Name: "send recurring campaigns", Spec: "@every 15s", Run: out.SendSeries})
	if err != nil {
		return nil, err
	}
	sched.Paused = func(ctx context.Context) bool {
		paused, err := st.QueuePaused(ctx, store.QueueCron)
		return err == nil && paused
	}
	srv, err := web.New(web.Config{Store: st, Outbound: out, Logger: log, Version: buildVersion(), Static: staticFS(), Jobs: sched.Jobs,
		TrustedProxies: trusted, DataDir: data, Imports: importer, Webhooks: hooks, Sources: srcs,
		Automations: flows})
	if err != nil {
		return nil, err
	}
	httpSrv := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	parts := []part{
		{"database", func(ctx context.Context) error { <-ctx.Done(); return st.Close() }},
		{"tracking writer", out.Hits().Run},
		{"campaign dispatcher", out.Dispatcher().Run},
		{"transactional lane", out.Lane().Run},
		{"imports", importer.Run},
		{"sources", srcs.Run},
		{"automations", flows.Run},
		{"webhooks", hooks.Run},
		{"scheduler", sched.Run},
	}
	poller, err := inbound.NewPoller(out.MailboxConfig, out.TakeMail, log)
	if err != nil {
		return nil, err
	}
	parts = append(parts, part{"mailbox poller", poller.Run})
	if lns.smtp != nil {
		l, err := inbound.NewListener(lns.smtp, out.TakeMail, log)
		if err != nil {
			return nil, err
		}
		log.Info("smtp listener taking bounces and unsubscribe mail", "addr", lns.smtp.Addr().String())
		parts = append(parts, part{"smtp listener", l.Run})
	}
	return append(parts, part{"http server", serveHTTP(httpSrv, lns.http)}), nil
}

// listeners are the sockets Herald serves on; smtp is nil when the SMTP
// listener is off.
type listeners struct{ http, smtp net.Listener }

// listen opens the HTTP address and, when smtpAddr is set, the SMTP one,
// so a port in use or needing privileges is reported before anything
// starts.
func listen(httpAddr, smtpAddr string) (listeners, error) {
	var lns listeners
	var err error
	if lns.http, err = net.Listen("tcp", httpAddr); err != nil {
		return lns, fmt.Errorf("listen on %s: %w", httpAddr, err)
	}
	if smtpAddr == "" {
		return lns, nil
	}
	if lns.smtp, err = net.Listen("tcp", smtpAddr); err != nil {
		lns.http.Close()
		return lns, fmt.Errorf("listen on --smtp-addr %s: %w", smtpAddr, err)
	}
	return lns, nil
}

func (lns listeners) close() {
	lns.http.Close()
	if lns.smtp != nil {
		lns.smtp.Close()
	}
}

// part is one long-lived piece of Herald: it runs until its context ends,
// finishes what it has under way, and returns.
type part struct {
	name string
	run  func(ctx context.Context) error
}

// runParts starts parts in order, each with a context of its own, and
// stops them in reverse order when ctx ends or any of them returns: each
// is cancelled and waited for before the one started before it. So the
// HTTP server stops taking requests first, then cron, then the workers
// finish and record what they have in flight, and the database closes
// last.
func runParts(ctx context.Context, log *slog.Logger, parts ...part) error {
	cancels := make([]context.CancelFunc, len(parts))
	dones := make([]chan error, len(parts))
	ended := make(chan struct{}, len(parts))
	for i, p := range parts {
		pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		cancels[i], dones[i] = cancel, make(chan error, 1)
		go func() {
			dones[i] <- p.run(pctx)
			ended <- struct{}{}
		}()
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case <-ended:
		log.Error("a part of Herald stopped by itself; shutting down")
	}
	var errs []error
	for i := len(parts) - 1; i >= 0; i-- {
		cancels[i]()
		// A part stopped in the middle of its work says so with the
		// context's error; that is the stop asked for, not a failure.
		if err := <-dones[i]; err != nil && !errors.Is(err, context.Canceled) {
			log.Error(parts[i].name+" failed", "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", parts[i].name, err))
		}
		log.Info(parts[i].name + " stopped")
	}
	return errors.Join(errs...)
}

// serveHTTP serves on ln until ctx ends, then stops taking requests and
// gives those under way shutdownTimeout to finish.
func serveHTTP(srv *http.Server, ln net.Listener) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		select {
		case err := <-served:
			return err
		case <-ctx.Done():
		}
		shutCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		err := srv.Shutdown(shutCtx)
		if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		return err
	}
}

// announceSetup prints the one-time setup link while the instance has no owner.
func (e env) announceSetup(ctx context.Context, st *store.Store, log *slog.Logger, listenAddr string) error {
	token, err := st.NewSetupToken(ctx)
	if err != nil || token == "" {
		return err
	}
	g, err := st.General(ctx)
	if err != nil {
		return err
	}
	link := setupBase(g.BaseURL, listenAddr) + "/setup?token=" + token
	log.Info("no owner account yet: open the setup link printed on standard output to create it")
	fmt.Fprintf(e.stdout, "\nHerald has no owner yet. Open this link to create the owner account (it works once):\n\n    %s\n\n", link)
	return nil
}

// setupBase is where a person reaches Herald: its public URL when set, else
// the listening address, with a wildcard host replaced by localhost.
func setupBase(baseURL, listenAddr string) string {
	if baseURL != "" {
		return baseURL
	}
	host, port, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return "http://" + listenAddr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
