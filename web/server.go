// Package web serves Herald's admin UI, public pages and REST API.
package web

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v5"

	"herald/scheduler"
	"herald/scheduler/automations"
	"herald/scheduler/netguard"
	"herald/scheduler/outbound"
	"herald/scheduler/sources"
	"herald/store"
)

// Config is what the web server is built from. Store, Outbound, Logger,
// Jobs and Imports are required.
type Config struct {
	Store *store.Store
	// Outbound is where everything that sends mail goes.
	Outbound *outbound.Service
	Logger   *slog.Logger
	Version  string
	// Static is the file tree served under /static/, fingerprinted.
	Static fs.FS
	// Jobs reports the scheduler's jobs for Settings → Jobs.
	Jobs func() []scheduler.JobStatus
	// DataDir holds uploaded files while they are imported.
	DataDir string
	// Imports is the import worker, woken when an import is queued.
	Imports scheduler.Waker
	// Webhooks is the webhook deliverer, woken for a test or a redelivery;
	// without it the deliverer finds the work when it next looks.
	Webhooks scheduler.Waker
	// Sources runs import sources; without it, one that runs none is made.
	Sources *sources.Service
	// Automations changes, tests and fills automations; without it, one
	// that advances no journey is made.
	Automations *automations.Engine
	// ChallengeBits is the difficulty of the sign-up puzzle; 16 when zero.
	ChallengeBits int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For header
	// names the client; without any, the connection's address is the client.
	TrustedProxies []*net.IPNet
	// MinFreeDisk is the free space, in bytes, below which /healthz fails;
	// 100 MB when zero.
	MinFreeDisk uint64
}

// Server holds everything the handlers need.
type Server struct {
	store       *store.Store
	out         *outbound.Service
	log         *slog.Logger
	version     string
	assets      *assets
	jobs        func() []scheduler.JobStatus
	dataDir     string
	imports     scheduler.Waker
	challenges  *challenges
	previews    previews
	webhooks    scheduler.Waker
	sources     *sources.Service
	automations *automations.Engine
	// guard checks where webhooks may point.
	guard *netguard.Guard
	// limits holds each API key's rate buckets.
	limits *rateLimiter
	// scopes holds the scope of each API route, by method and path.
	scopes map[string]string
	echo   *echo.Echo
	// minFreeDisk is the free space /healthz asks of the data directory.
	minFreeDisk uint64

	generalCache atomic.Pointer[store.General]

	// The OpenAPI description, built on first use.
	openAPIOnce  sync.Once
	openAPICache map[string]any
	openAPIErr   error
}

// New builds the server and its routes.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Outbound == nil || cfg.Logger == nil || cfg.Jobs == nil || cfg.Imports == nil {
		return nil, errors.New("web: a store, the outbound service, a logger, the jobs and the import worker are required")
	}
	a, err := newAssets(cfg.Static)
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	s := &Server{
		store:   cfg.Store,
		out:     cfg.Outbound,
		log:     cfg.Logger,
		version: cfg.Version,
		assets:  a,
		jobs:    cfg.Jobs,
		dataDir: cfg.DataDir,
		imports: cfg.Imports,
		limits:  newRateLimiter(time.Now),
		scopes:  map[string]string{},
	}
	s.webhooks = cfg.Webhooks
	if s.webhooks == nil {
		s.webhooks = noWaker{}
	}
	s.guard = &netguard.Guard{Allowed: func(host string) bool { return s.general().AllowsHost(host) }}
	s.sources = cfg.Sources
	s.automations = cfg.Automations
	if s.automations == nil {
		s.automations = automations.New(automations.Config{Store: cfg.Store, Outbound: cfg.Outbound, Log: cfg.Logger})
	}
	if s.sources == nil {
		s.sources = sources.New(sources.Config{Store: cfg.Store, Log: cfg.Logger, Guard: s.guard})
	}
	s.minFreeDisk = cfg.MinFreeDisk
	if s.minFreeDisk == 0 {
		s.minFreeDisk = defaultMinFreeDisk
	}
	if cfg.ChallengeBits == 0 {
		cfg.ChallengeBits = 16
	}
	s.challenges = newChallenges(cfg.ChallengeBits)
	if s.dataDir == "" {
		s.dataDir = filepath.Dir(cfg.Store.Path())
	}
	e := echo.New()
	e.Logger = cfg.Logger
	e.IPExtractor = ipExtractor(cfg.TrustedProxies)
	e.HTTPErrorHandler = s.handleError
	s.echo = e
	s.routes(e)
	return s, nil
}

// ipExtractor finds the client address used for throttling and logs: the
// connection's own, or the forwarded one when the connection is a trusted proxy.
func ipExtractor(proxies []*net.IPNet) echo.IPExtractor {
	if len(proxies) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range proxies {
		opts = append(opts, echo.TrustIPRange(p))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// ParseProxies parses a comma-separated list of IP addresses and CIDR ranges.
func ParseProxies(list string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if !strings.Contains(item, "/") {
			ip := net.ParseIP(item)
			if ip == nil {
				return nil, fmt.Errorf("trusted proxy %q is not an IP address or CIDR range", item)
			}
			bits := 32
			if ip.To4() == nil {
				bits = 128
			}
			item = fmt.Sprintf("%s/%d", ip, bits)
		}
		_, n, err := net.ParseCIDR(item)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is not an IP address or CIDR range", item)
		}
		out = append(out, n)
	}
	return out, nil
}

// Handler returns the HTTP handler serving every route: good tracking
// hits first, by serveHit, and everything else through echo.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.serveHit(w, r) {
			s.echo.ServeHTTP(w, r)
		}
	})
}

// Routes lists every registered route, for tests and diagnostics.
func (s *Server) Routes() echo.Routes { return s.echo.Router().Routes() }

// noWaker wakes nobody.
type noWaker struct{}

func (noWaker) Wake() {}
