package scheduler

import "sync"

// Waker is a worker that can be told there is new work, such as a queued
// import or a campaign that just started, so it need not wait for its next
// look.
type Waker interface{ Wake() }

// Signal is how a worker learns there is new work. The worker takes Next
// before it looks for work and, finding none, waits on what Next returned:
// a Wake in between is then not lost. Wake wakes every worker waiting, and
// never blocks. The zero value is ready to use.
type Signal struct {
	mu sync.Mutex
	c  chan struct{}
}

// Next returns the channel the next Wake closes.
func (s *Signal) Next() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil {
		s.c = make(chan struct{})
	}
	return s.c
}

// Wake tells every worker waiting on Next that there is work.
func (s *Signal) Wake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil {
		close(s.c)
	}
	s.c = make(chan struct{})
}
