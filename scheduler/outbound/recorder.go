package outbound

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"herald/store"
)

// recorder commits outcomes in groups: whatever arrives while one commit
// runs goes into the next, and each caller returns once its own outcome is
// committed. Waiting costs a worker one commit, not one per message.
type recorder struct {
	st   *store.Store
	in   chan recordReq
	done chan struct{}
	// failed is set once a commit fails: no message may go out for good
	// after an outcome that was not written down.
	failed atomic.Bool
	mu     sync.Mutex
	err    error
}

// errNotRecorded stops a run when an outcome could not be committed.
var errNotRecorded = errors.New("the outcome of the last message could not be recorded, so no more are sent")

type recordReq struct {
	out  store.Outcome
	done chan struct{}
}

func newRecorder(st *store.Store) *recorder {
	r := &recorder{st: st, in: make(chan recordReq, 1024), done: make(chan struct{})}
	go r.run()
	return r
}

func (r *recorder) run() {
	defer close(r.done)
	for req := range r.in {
		group := []recordReq{req}
	more:
		for len(group) < 256 {
			select {
			case req, ok := <-r.in:
				if !ok {
					break more
				}
				group = append(group, req)
			default:
				break more
			}
		}
		outs := make([]store.Outcome, len(group))
		for i, g := range group {
			outs[i] = g.out
		}
		// Its own context: what went out is written down even while the
		// process is stopping.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := r.st.RecordOutcomes(ctx, outs); err != nil {
			r.failed.Store(true)
			r.mu.Lock()
			r.err = errors.Join(r.err, err)
			r.mu.Unlock()
		}
		cancel()
		for _, g := range group {
			close(g.done)
		}
	}
}

// submit hands an outcome to be committed with whatever others arrive
// meanwhile. Its commit's wait waits for that commit, and fails when any
// commit so far has.
func (r *recorder) submit(out store.Outcome) *commit {
	c := &commit{r: r, done: make(chan struct{})}
	r.in <- recordReq{out: out, done: c.done}
	return c
}

// commit is an outcome handed to the recorder.
type commit struct {
	r    *recorder
	done chan struct{}
}

// wait waits until the outcome is committed, or its group failed to be.
func (c *commit) wait() error {
	<-c.done
	if c.r.failed.Load() {
		return errNotRecorded
	}
	return nil
}

// before is what a message must wait for before its relay gets it for
// good: nil once the outcome is committed (so the message goes in one
// write with its end), or else wait.
func (c *commit) before() func() error {
	if c == nil {
		return nil
	}
	select {
	case <-c.done:
		if !c.r.failed.Load() {
			return nil
		}
	default:
	}
	return c.wait
}

// close stops the recorder and reports any failed commit.
func (r *recorder) close() error {
	close(r.in)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}
