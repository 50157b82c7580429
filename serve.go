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
	"herald/scheduler/imports"
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
	logFormat := fs.String("log-format", e.envOr("HERALD_LOG_FORMAT", "text"), "log format: text or json (env HERALD_LOG_FORMAT)")
	if err := parse(fs, args); err != nil {
		return err
	}
	log, err := newLogger(e.stderr, *logFormat)
	if err != nil {
		return err
	}
	if e.getenv("GOGC") == "" {
		debug.SetGCPercent(scheduler.GCPercent)
	}
	trusted, err := web.ParseProxies(*proxies)
	if err != nil {
		return fmt.Errorf("%w: --trusted-proxies: %v", errUsage, err)
	}
	st, err := e.openStore(ctx, *data, createQuietly)
	if err != nil {
		return err
	}
	defer func() {
		st.Close()
		log.Info("database closed")
	}()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	if err := e.announceSetup(ctx, st, log, ln.Addr().String()); err != nil {
		ln.Close()
		return err
	}
	if n, err := st.UnreadableSecrets(ctx); err != nil || n > 0 {
		log.Warn("stored relay passwords cannot be decrypted with this secret key; restore the key that saved them or enter the passwords again",
			"relays", n, "err", err)
	}

	// The dispatcher sends campaigns; it learns links, relays and the
	// organisation from the web server, made just below, before it starts.
	workCtx, stopWorkers := context.WithCancel(context.Background())
	defer stopWorkers()
	dispatcher := &scheduler.Dispatcher{Store: st, Log: log}
	sched, err := scheduler.New(log, scheduler.Housekeeping(st, log), dispatcher.Dispatch(workCtx), dispatcher.StartDue(workCtx))
	if err != nil {
		ln.Close()
		return err
	}
	importer := imports.NewWorker(st, log)
	// The transactional lane sends API messages on workers and relay
	// connections of its own, so no campaign holds it up.
	lane := &scheduler.Lane{Store: st, Log: log}
	srv, err := web.New(web.Config{Store: st, Logger: log, Version: buildVersion(), Static: staticFS(), Jobs: sched.Jobs,
		TrustedProxies: trusted, DataDir: *data, Imports: importer, Dispatch: dispatcher.Kick, Messages: lane.Kick})
	if err != nil {
		ln.Close()
		return err
	}
	dispatcher.Links, dispatcher.Open, dispatcher.Org, dispatcher.Start = srv.CampaignLinks, srv.OpenRelay, srv.Org, srv.StartCampaign
	dispatcher.Notify, dispatcher.Signer = srv.NotifyOwners, srv.Signer
	lane.Open, lane.Sign = srv.OpenRelay, srv.SignMessage
	httpSrv := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	schedCtx, stopSched := context.WithCancel(context.Background())
	schedDone := make(chan error, 1)
	go func() { schedDone <- sched.Run(schedCtx) }()
	// Campaigns that were sending when Herald last stopped carry on now.
	if err := dispatcher.Resume(workCtx); err != nil {
		log.Error("resuming campaigns", "err", err)
	}
	importDone := make(chan error, 1)
	go func() { importDone <- importer.Run(workCtx) }()
	// The lane requeues the messages the last run left in flight, then
	// sends until stopped; it stops after the HTTP server, before the store.
	laneCtx, stopLane := context.WithCancel(context.Background())
	defer stopLane()
	laneDone := make(chan struct{})
	go func() {
		defer close(laneDone)
		if err := lane.Run(laneCtx); err != nil {
			log.Error("transactional lane stopped", "err", err)
		}
	}()
	serveDone := make(chan error, 1)
	go func() { serveDone <- httpSrv.Serve(ln) }()
	log.Info("herald listening", "addr", "http://"+ln.Addr().String(), "data", *data, "version", buildVersion())

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case serveErr = <-serveDone:
	}
	// Stop taking requests first, then the scheduler and its workers; the
	// deferred Close shuts the database last.
	shutCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(shutCtx); err != nil {
		log.Error("http shutdown", "err", err)
	}
	srv.Wait()
	log.Info("http server stopped")
	stopSched()
	<-schedDone
	log.Info("scheduler stopped")
	// Campaign runs finish their batch and record it before they return.
	stopWorkers()
	stopLane()
	<-importDone
	dispatcher.Wait()
	<-laneDone
	log.Info("workers stopped")
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
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
