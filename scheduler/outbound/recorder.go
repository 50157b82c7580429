package outbound

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"herald/store"
)

// recorder commits outcomes in groups, each caller returning once its own
// outcome is committed. A group gathers what arrives until one outcome has
// come from each worker, or gather has passed since its first: a commit
// costs about as much for one outcome as for sixteen, and a worker that
// sent a message waits for its outcome's commit before the next goes, so
// a group with one from each is as large as it gets in time.
type recorder struct {
	st   *store.Store
	in   chan recordReq
	done chan struct{}
	// workers is how many submit outcomes.
	workers int
	// gather is the longest an outcome waits for others to join its group.
	gather time.Duration
	// committed, when set, is told the size of each group once committed.
	committed func(size int)
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

// gatherFor is how long an outcome waits at most for others to join its
// group, while some workers are held up elsewhere, such as by a relay's
// rate or at the end of a campaign: a fraction of what a message takes to
// reach a relay, so that the wait costs a worker little.
const gatherFor = 300 * time.Microsecond

// maxGroup is the most outcomes a commit takes.
const maxGroup = 256

func newRecorder(st *store.Store, workers int) *recorder {
	r := &recorder{st: st, in: make(chan recordReq, 1024), done: make(chan struct{}), workers: workers, gather: gatherFor}
	go r.run()
	return r
}

func (r *recorder) run() {
	defer close(r.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for first := range r.in {
		group := []recordReq{first}
		timer.Reset(r.gather)
	more:
		for len(group) < min(r.workers, maxGroup) {
			select {
			case req, ok := <-r.in:
				if !ok {
					break more
				}
				group = append(group, req)
			case <-timer.C:
				break more
			}
		}
		timer.Stop()
		// Whatever is there already comes too, as long as the group has room.
	rest:
		for len(group) < maxGroup {
			select {
			case req, ok := <-r.in:
				if !ok {
					break rest
				}
				group = append(group, req)
			default:
				break rest
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
		if r.committed != nil {
			r.committed(len(group))
		}
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

// before is what the connection's next message waits for before it goes:
// this commit, or nothing when there is none. It waits only when called,
// as late as can be.
func (c *commit) before() func() error {
	if c == nil {
		return nil
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
