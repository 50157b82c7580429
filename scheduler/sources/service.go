package sources

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"herald/scheduler"
	"herald/scheduler/imports"
	"herald/scheduler/netguard"
	"herald/store"
)

// Service runs sources, one at a time, when they are due or asked for, and
// tests a source's connection before it is saved.
type Service struct {
	// testing lets one connection test run at a time: an answer of up to
	// 50 MB takes far more memory decoded.
	testing chan struct{}

	st     *store.Store
	log    *slog.Logger
	runner *Runner
	signal scheduler.Signal
	every  time.Duration
}

// Config is what a Service needs. Client, when set, replaces the guard's
// client, for tests against servers on loopback.
type Config struct {
	Store  *store.Store
	Log    *slog.Logger
	Guard  *netguard.Guard
	Client *http.Client
	// Every is how often due sources are looked for; a minute when 0.
	Every time.Duration
	// Notify tells the owners about a source that disabled itself.
	Notify func(ctx context.Context, subject, text string)
}

// requestTimeout bounds one request to a source's API.
const requestTimeout = 60 * time.Second

// New builds the service.
func New(cfg Config) *Service {
	client := cfg.Client
	if client == nil {
		client = cfg.Guard.Client(requestTimeout, 2)
	}
	return &Service{st: cfg.Store, log: cfg.Log, every: max(cfg.Every, 0), testing: make(chan struct{}, 1),
		runner: &Runner{Store: cfg.Store, Fetcher: &Fetcher{Client: client}, Log: cfg.Log, Notify: cfg.Notify}}
}

// Wake makes the service look for due sources now.
func (s *Service) Wake() { s.signal.Wake() }

// RunNow makes a source due at once and wakes the service.
func (s *Service) RunNow(ctx context.Context, id int64) error {
	if err := s.st.RunSourceNow(ctx, id); err != nil {
		return err
	}
	s.Wake()
	return nil
}

// Run runs due sources until ctx ends; a run under way at the end stays
// open and resumes at the next start.
func (s *Service) Run(ctx context.Context) error {
	every := s.every
	if every == 0 {
		every = time.Minute
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		wake := s.signal.Next()
		for ctx.Err() == nil {
			id, err := s.st.DueSource(ctx, time.Now())
			if errors.Is(err, store.ErrNotFound) {
				break
			}
			if err != nil {
				s.log.Error("looking for due sources", "err", err)
				break
			}
			if _, _, err := s.runner.Run(ctx, id, s.location(ctx)); err != nil && ctx.Err() == nil {
				s.log.Error("running a source", "source", id, "err", err)
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-wake:
		}
	}
}

func (s *Service) location(ctx context.Context) *time.Location {
	g, err := s.st.General(ctx)
	if err != nil {
		return time.UTC
	}
	return g.Location()
}

// TestResult is what asking a source's API for its first page found.
type TestResult struct {
	OK bool
	// Error says in plain words what went wrong, when not OK.
	Error string
	Took  time.Duration
	// Status is the HTTP status of the answer.
	Status int
	// Count is the records on the first page; More says there are pages
	// after it.
	Count   int
	More    bool
	Records []Record
	// Fields are the paths found in the first records, each with a sample
	// value and the target the importer proposes for it.
	Fields []FieldSample
}

// FieldSample is one field of a source's records.
type FieldSample struct {
	Path, Sample, Target string
}

// Reschedule sets when a source whose schedule changed runs next: the
// new schedule's next time, unless it has never run (it runs at once) or
// waits to retry a failure.
func (s *Service) Reschedule(ctx context.Context, id int64) error {
	src, err := s.st.Source(ctx, id)
	if err != nil {
		return err
	}
	from := time.Now()
	if last := src.LastRunAt.Add(MinInterval); last.After(from) {
		from = last // never closer than MinInterval to the last run
	}
	return s.st.RescheduleSource(ctx, id, NextRun(src.Schedule, src.AtMinute, s.location(ctx), from))
}

// ErrTestBusy says another connection test is running.
var ErrTestBusy = errors.New("another connection test is running: try again in a moment")

// MaxTestFields caps the fields a test proposes to map.
const MaxTestFields = 200

// Test asks the API an input describes for its first page, without saving
// anything: the input is a new source's, or, with id, a change to source
// id's, whose credentials stand where the input gives none. What is wrong
// with the input is a ValidationError; a failure to fetch is a result that
// says why.
func (s *Service) Test(ctx context.Context, id int64, in store.SourceInput) (TestResult, error) {
	if in.Name != nil && *in.Name == "" || in.Name == nil && id == 0 {
		untitled := "Untitled" // a name is for saving, not for asking
		in.Name = &untitled
	}
	var src store.Source
	var sec store.SourceSecret
	var err error
	if id != 0 {
		src, sec, err = s.st.CheckSourceChange(ctx, id, in)
	} else {
		src, sec, err = store.CheckSource(in)
	}
	if err != nil {
		return TestResult{}, err
	}
	select {
	case s.testing <- struct{}{}:
		defer func() { <-s.testing }()
	default:
		return TestResult{}, ErrTestBusy
	}
	spec := SpecOf(src, sec)
	p, err := s.runner.Fetcher.Fetch(ctx, spec, First(spec.Paging))
	if err != nil {
		return TestResult{Error: Redact(err.Error(), src, sec)}, nil
	}
	res := TestResult{OK: true, Took: p.Took, Status: p.Status, Count: len(p.Records), More: !p.Last, Records: p.Records[:min(len(p.Records), 10)]}
	seen := map[string]bool{}
	var paths, samples []string
	for _, r := range res.Records {
		for _, path := range Fields(r) {
			if seen[path] || len(paths) >= MaxTestFields {
				continue
			}
			seen[path] = true
			v, _ := Lookup(r, path)
			paths, samples = append(paths, path), append(samples, Text(v))
		}
	}
	for i, t := range imports.AutoMap(paths, samples) {
		res.Fields = append(res.Fields, FieldSample{Path: paths[i], Sample: samples[i], Target: t})
	}
	return res, nil
}
