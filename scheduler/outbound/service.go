// Package outbound is where Herald's mail leaves from. Its Service is the
// one way in for everything that sends: starting, scheduling and steering
// campaigns, queueing transactional and system mail, test sends, the relays
// and DKIM keys they go through, and the links each message carries. Its
// Dispatcher sends campaigns from the outbox and its Lane sends
// transactional mail; both are built by New and run by their Run methods.
//
// A campaign goes out like this: Service.Send checks and freezes it and
// wakes the Dispatcher (campaigns.go); the dispatcher claims its outbox rows
// in batches (dispatch.go); each row is rendered, signed and delivered by a
// campaignRun (run.go) through the campaign's route of relays (route.go), at
// the pace of its limits (limits.go), and its outcome is committed by the
// recorder (recorder.go) before the relay gets that connection's next
// message for good.
package outbound

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"herald/mailer"
	"herald/mailer/feedback"
	"herald/mailer/track"
	"herald/scheduler/netguard"
	"herald/store"
)

// Config is what the service is built from. Store and Log are required;
// the rest have defaults.
type Config struct {
	Store *store.Store
	Log   *slog.Logger
	// Guard checks where outbound requests (a recurring campaign's feed)
	// may go; without it no feed is read.
	Guard *netguard.Guard
	// RelayTLS overrides the TLS settings used to reach relays; nil uses
	// the system's roots. Tests use it to trust a loopback server.
	RelayTLS *tls.Config
	// RelayTimeout bounds each step of talking to an SMTP relay; zero uses
	// the mailer's default. Tests shorten it to see a hung relay quickly.
	RelayTimeout time.Duration
	// Resolver looks up the TXT records of a sending domain's DNS check;
	// nil uses net.DefaultResolver.
	Resolver mailer.TXTResolver
	// FirstRetry is the delay before the first retry of a temporary
	// failure; later ones double from it. Zero reads it from settings.
	FirstRetry time.Duration
	// Lease is how long a claimed send or message may take before it goes
	// back to the queue; 5 minutes when zero.
	Lease time.Duration
	// Every is how often the dispatcher and the lane look for work that
	// fell due and leases that ran out; 10 and 5 seconds when zero.
	Every time.Duration
	// LaneWorkers is how many transactional messages go at once; 4 when zero.
	LaneWorkers int
	// SNSAllowURL replaces the rule that SNS certificate and subscription
	// URLs be https on an SNS host. Tests only, to serve a certificate on
	// loopback; nil in production.
	SNSAllowURL func(*url.URL) bool
}

// Service sends Herald's mail. It is safe for concurrent use.
type Service struct {
	st  *store.Store
	log *slog.Logger
	cfg Config

	dkim          signers
	confirmations throttle
	health        health
	tracker       *track.Signer
	hits          *store.HitWriter
	destinations  destinations
	// sns checks the signatures of SES notifications that come through SNS.
	sns *feedback.SNSVerifier

	dispatcher *Dispatcher
	lane       *Lane
}

// New builds the service with its dispatcher and lane; run those with
// their Run methods.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Log == nil {
		return nil, errors.New("outbound: a store and a logger are required")
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	s := &Service{st: cfg.Store, log: cfg.Log, cfg: cfg,
		health:  health{failing: map[int64]bool{}, probed: map[int64]time.Time{}},
		tracker: track.NewSigner(cfg.Store.Box().TrackingKey())}
	s.hits = cfg.Store.NewHitWriter(func(err error) {
		s.log.Error("applying opens and clicks; they wait in the log for the next try", "err", err)
	})
	s.dkim.resolver = cfg.Resolver
	s.sns = feedback.NewSNSVerifier(&http.Client{Timeout: 15 * time.Second})
	s.sns.AllowURL = cfg.SNSAllowURL
	s.dispatcher = newDispatcher(s)
	s.lane = newLane(s)
	return s, nil
}

// Dispatcher is the worker that sends campaigns.
func (s *Service) Dispatcher() *Dispatcher { return s.dispatcher }

// Lane is the worker that sends transactional and system mail.
func (s *Service) Lane() *Lane { return s.lane }

// now is the store's clock, which every time the service writes follows.
func (s *Service) now() time.Time { return s.st.Now() }

// general reads Settings → General; on failure it logs and returns what
// it could, so a message still goes with what is known.
func (s *Service) general(ctx context.Context) store.General {
	g, err := s.st.General(ctx)
	if err != nil {
		s.log.Error("reading general settings", "err", err)
	}
	return g
}

// Org is the sending organisation, from Settings → General.
func (s *Service) Org(ctx context.Context) mailer.OrgData {
	return orgOf(s.general(ctx))
}

func orgOf(g store.General) mailer.OrgData {
	return mailer.OrgData{Name: g.OrgName, Address: g.PostalAddress, URL: g.BaseURL}
}

// firstRetry is the delay before the first retry of a temporary failure.
func (s *Service) firstRetry(g store.General) time.Duration {
	if s.cfg.FirstRetry > 0 {
		return s.cfg.FirstRetry
	}
	return g.FirstRetry()
}

// lease is how long one claim may take before it is released.
func (s *Service) lease() time.Duration { return orDefault(s.cfg.Lease, 5*time.Minute) }

// orDefault is v, or def when v is zero.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// throttle remembers when something was last done per key, to do it at
// most once in a while.
type throttle struct {
	mu   sync.Mutex
	last map[[2]int64]time.Time
}

// allow reports whether the pair may act now, at most once every every,
// and if so records that it did.
func (t *throttle) allow(a, b int64, now time.Time, every time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last == nil {
		t.last = map[[2]int64]time.Time{}
	}
	for k, at := range t.last {
		if now.Sub(at) >= every {
			delete(t.last, k)
		}
	}
	k := [2]int64{a, b}
	if _, ok := t.last[k]; ok {
		return false
	}
	t.last[k] = now
	return true
}

// forget lets the pair act again at once, as when what it allowed failed.
func (t *throttle) forget(a, b int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.last, [2]int64{a, b})
}
