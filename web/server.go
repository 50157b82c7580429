// Package web serves Herald's admin UI, public pages and REST API.
package web

import (
	"crypto/tls"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/labstack/echo/v5"

	"herald/scheduler"
	"herald/store"
)

// Config is what the web server is built from.
type Config struct {
	Store   *store.Store
	Logger  *slog.Logger
	Version string
	// Static is the file tree served under /static/, fingerprinted.
	Static fs.FS
	// Jobs reports the scheduler's jobs for Settings → Jobs; may be nil.
	Jobs func() []scheduler.JobStatus
	// APIRate and APIBurst limit each API key's requests per second; zero
	// values mean 20 a second in bursts of 100.
	APIRate  float64
	APIBurst int
	// RelayTLS overrides the TLS settings used to reach relays; nil uses the
	// system's roots. Tests use it to trust a loopback server's certificate.
	RelayTLS *tls.Config
}

// Server holds everything the handlers need.
type Server struct {
	store    *store.Store
	log      *slog.Logger
	version  string
	assets   *assets
	jobs     func() []scheduler.JobStatus
	relayTLS *tls.Config
	apiRate  float64
	apiBurst int
	echo     *echo.Echo

	generalCache atomic.Pointer[store.General]
}

// New builds the server and its routes.
func New(cfg Config) (*Server, error) {
	a, err := newAssets(cfg.Static)
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	jobs := cfg.Jobs
	if jobs == nil {
		jobs = func() []scheduler.JobStatus { return nil }
	}
	s := &Server{
		store:    cfg.Store,
		log:      cfg.Logger,
		version:  cfg.Version,
		assets:   a,
		jobs:     jobs,
		relayTLS: cfg.RelayTLS,
		apiRate:  cfg.APIRate,
		apiBurst: cfg.APIBurst,
	}
	if s.apiRate == 0 {
		s.apiRate, s.apiBurst = 20, 100
	}
	e := echo.New()
	e.Logger = cfg.Logger
	// Herald is reached directly or through a proxy the operator runs; the
	// client address used for throttling is the connection's own.
	e.IPExtractor = echo.ExtractIPDirect()
	e.HTTPErrorHandler = s.handleError
	s.echo = e
	s.routes(e)
	return s, nil
}

// Handler returns the HTTP handler serving every route.
func (s *Server) Handler() http.Handler { return s.echo }

// Routes lists every registered route, for tests and diagnostics.
func (s *Server) Routes() echo.Routes { return s.echo.Router().Routes() }
