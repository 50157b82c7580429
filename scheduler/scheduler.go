// Package scheduler runs Herald's timed jobs and durable background workers.
package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// Job is a named piece of work run on a cron schedule.
type Job struct {
	Name string
	// Spec is a cron spec with seconds, or a descriptor like "@every 10m".
	Spec string
	Run  func(ctx context.Context) error
}

// JobStatus is what the last run of a job did.
type JobStatus struct {
	Name      string
	Spec      string
	LastRun   time.Time
	LastError string
	NextRun   time.Time
}

// Scheduler owns the cron runner and remembers how each job last went.
type Scheduler struct {
	// Paused, when set and true, skips the runs that fall due: the owner
	// paused the cron jobs.
	Paused func(ctx context.Context) bool

	cron   *cron.Cron
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	status  map[string]*JobStatus
	entries map[string]cron.EntryID
	order   []string
}

// New returns a scheduler with the given jobs registered; they start with Run.
func New(log *slog.Logger, jobs ...Job) (*Scheduler, error) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scheduler{
		log:     log,
		ctx:     ctx,
		cancel:  cancel,
		status:  map[string]*JobStatus{},
		entries: map[string]cron.EntryID{},
		cron: cron.New(
			cron.WithSeconds(),
			cron.WithChain(cron.Recover(cronLogger{log}), cron.SkipIfStillRunning(cronLogger{log}))),
	}
	for _, j := range jobs {
		if err := s.add(j); err != nil {
			cancel()
			return nil, err
		}
	}
	return s, nil
}

func (s *Scheduler) add(j Job) error {
	st := &JobStatus{Name: j.Name, Spec: j.Spec}
	id, err := s.cron.AddFunc(j.Spec, func() { s.runJob(j, st) })
	if err != nil {
		return fmt.Errorf("scheduler: job %s: %w", j.Name, err)
	}
	s.status[j.Name] = st
	s.entries[j.Name] = id
	s.order = append(s.order, j.Name)
	return nil
}

func (s *Scheduler) runJob(j Job, st *JobStatus) {
	if s.Paused != nil && s.Paused(s.ctx) {
		return
	}
	start := time.Now()
	err := j.Run(s.ctx)
	s.mu.Lock()
	st.LastRun = start
	st.LastError = ""
	if err != nil {
		st.LastError = err.Error()
	}
	s.mu.Unlock()
	if err != nil {
		s.log.Error("job failed", "job", j.Name, "err", err)
		return
	}
	s.log.Debug("job done", "job", j.Name, "took", time.Since(start))
}

// Jobs returns the status of every job in the order they were registered.
func (s *Scheduler) Jobs() []JobStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JobStatus, 0, len(s.order))
	for _, name := range s.order {
		st := *s.status[name]
		st.NextRun = s.cron.Entry(s.entries[name]).Next
		out = append(out, st)
	}
	return out
}

// Run starts the jobs and blocks until ctx ends, then waits for running jobs
// to finish.
func (s *Scheduler) Run(ctx context.Context) error {
	s.cron.Start()
	<-ctx.Done()
	s.cancel()
	<-s.cron.Stop().Done()
	return nil
}

// cronLogger adapts slog to cron's logger interface.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug("cron: "+msg, kv...) }

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, "err", err)...)
}
