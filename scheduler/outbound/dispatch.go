package outbound

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"herald/mailer"
	"herald/scheduler"
	"herald/store"
)

// Dispatcher sends campaigns from the outbox: it claims due sends in
// batches, renders each for its recipient, delivers it over the relay's
// connection pool, and records every outcome. Build it with New; Run
// drives it.
type Dispatcher struct {
	s      *Service
	signal scheduler.Signal
	gates  *gates

	mu      sync.Mutex
	running map[int64]bool
	wg      sync.WaitGroup
	// audienceSteps are the first and later steps, in contact ids, of
	// writing a campaign's audience to its outbox.
	audienceSteps [2]int64
}

func newDispatcher(s *Service) *Dispatcher {
	return &Dispatcher{s: s, gates: newGates(s.st), running: map[int64]bool{}, audienceSteps: [2]int64{firstAudienceStep, audienceStep}}
}

// Wake makes the dispatcher look for campaigns to send now rather than at
// its next look, as when someone presses Send or Resume.
func (d *Dispatcher) Wake() { d.signal.Wake() }

// Run sends campaigns until ctx ends, then waits for the runs under way to
// record what they sent. It first puts back in the queue the sends a
// stopped process left in flight, so every sending campaign carries on.
// Every few seconds, and whenever woken, it requeues sends whose lease ran
// out and runs every sending campaign that is not running, which also
// picks up retries as they fall due.
func (d *Dispatcher) Run(ctx context.Context) error {
	n, err := d.s.st.RequeueInFlight(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		d.s.log.Info("sends left in flight by the last run requeued", "count", n)
	}
	tick := time.NewTicker(orDefault(d.s.cfg.Every, 10*time.Second))
	defer tick.Stop()
	for {
		wake := d.signal.Next()
		if err := d.sweep(ctx); err != nil && ctx.Err() == nil {
			d.s.log.Error("dispatching campaigns", "err", err)
		}
		select {
		case <-ctx.Done():
			d.wg.Wait()
			return nil
		case <-tick.C:
		case <-wake:
		}
	}
}

// sweep requeues sends whose lease ran out and starts a run of every
// sending campaign that has none.
func (d *Dispatcher) sweep(ctx context.Context) error {
	if n, err := d.s.st.RecoverLeases(ctx, d.runningIDs()); err != nil {
		return err
	} else if n > 0 {
		d.s.log.Info("sends requeued after their lease ran out", "count", n)
	}
	if paused, err := d.s.st.QueuePaused(ctx, store.QueueCampaigns); paused || err != nil {
		return err // the owner paused every campaign's sending
	}
	cs, err := d.s.st.SendingCampaigns(ctx)
	for _, c := range cs {
		d.wg.Go(func() {
			if err := d.runCampaign(ctx, c.ID); err != nil && ctx.Err() == nil {
				d.s.log.Error("campaign send", "campaign", c.ID, "err", err)
			}
		})
	}
	return err
}

// runningIDs lists the campaigns being sent by this dispatcher now.
func (d *Dispatcher) runningIDs() []int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	ids := make([]int64, 0, len(d.running))
	for id := range d.running {
		ids = append(ids, id)
	}
	return ids
}

// perConnection is how many sends a batch claims for each connection.
const perConnection = 25

// runCampaign sends a sending campaign until nothing is due: it returns
// when every send is done (and marks the campaign sent), when only retries
// that are not yet due remain, or when the campaign is paused or cancelled.
// A second call for a campaign already running returns at once.
func (d *Dispatcher) runCampaign(ctx context.Context, id int64) error {
	d.mu.Lock()
	if d.running[id] {
		d.mu.Unlock()
		return nil
	}
	d.running[id] = true
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.running, id)
		d.mu.Unlock()
	}()

	c, err := d.s.st.Campaign(ctx, id)
	if err != nil || c.Status != store.CampaignSending {
		return err
	}
	var writer *audienceWriter
	if !c.Materialised {
		if writer, err = d.writeAudience(ctx, c); err != nil {
			return err
		}
		defer writer.stop()
	}
	content, err := d.s.SentContent(ctx, id)
	if err != nil {
		return err
	}
	compiled, err := mailer.Compile(content.Source)
	if err != nil {
		// Only a frozen campaign whose content the limits of a newer
		// Herald refuse gets here; no recipient could get it as it is.
		return d.pauseItself(ctx, id, c.Name, fmt.Sprintf("Paused itself: its content can no longer be rendered (%s). "+
			"Cancel it, duplicate it, fix the copy and send that.", mailer.RenderError(err)))
	}
	rt, err := d.openRoute(ctx, c.RelayID)
	if err != nil {
		return fmt.Errorf("campaign %d: relay: %w", id, err)
	}
	defer rt.Close()
	conns := rt.conns
	run, err := d.newRun(ctx, c, &content, compiled, rt)
	if err != nil {
		return err
	}
	run.writer = writer

	// Workers take claimed sends from the feed, which the pump fills a
	// batch ahead, so no connection waits while the next batch is claimed.
	// Each records a message's outcome, through the group committer,
	// before the relay gets its next message for good: a crash can then
	// lose the record of at most one message per connection.
	rec := newRecorder(d.s.st, conns)
	feed := make(chan claimed, conns)
	var untried []int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			// The next message renders (and, for a relay without BDAT,
			// its envelope crosses the wire) while the last one's outcome
			// is being committed; the relay gets the message only once
			// that commit is done.
			var committed *commit
			// One message's buffer after another's: each is done with
			// once delivered.
			var buf []byte
			for it := range feed {
				var out store.Outcome
				if rec.failed.Load() {
					// Nothing more goes out: the pump claims no more.
					run.stopped.Store(true)
				}
				if ctx.Err() == nil && !run.stopped.Load() && !run.stalled.Load() && run.held.Load() == nil {
					msg, early := run.prepare(&buf, it.send, it.contact, it.found)
					if early != nil {
						out = *early
					} else {
						out = run.deliver(ctx, committed.before(), it.send, msg)
					}
				}
				if out.Status == "" {
					// Stopping: leave it untried, to be released.
					mu.Lock()
					untried = append(untried, it.send.ID)
					mu.Unlock()
				} else {
					committed = rec.submit(out)
				}
				run.fed.Done()
			}
			if committed != nil {
				committed.wait()
			}
		})
	}
	drained, err := d.pump(ctx, run, conns, feed)
	wg.Wait()
	// Released with a context of its own, so it happens even while the
	// process is stopping.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	recErr := rec.close()
	err = errors.Join(err, recErr, d.s.st.ReleaseSends(rctx, untried))
	if recErr != nil {
		// Sending on would send again, once its lease ends, what went
		// out unrecorded, and again: the campaign waits for a person.
		err = errors.Join(err, d.pauseItself(rctx, id, c.Name, fmt.Sprintf("Paused itself: Herald could not record what it sent (%v), "+
			"so it stopped rather than send messages it cannot account for. Check the disk and Herald's log, then resume.", recErr)))
	}
	cancel()
	if err != nil {
		return err
	}
	if h := run.held.Load(); h != nil {
		return d.s.st.HoldCampaign(ctx, id, h.reason, h.until)
	}
	if reason := run.refused.Load(); reason != nil {
		return run.pauseItself(ctx, c.Name, *reason)
	}
	if !drained {
		return nil
	}
	done, err := d.s.st.FinishCampaign(ctx, id)
	if done {
		d.s.log.Info("campaign sent", "campaign", id)
	}
	return err
}

// The audience of a campaign is written to its outbox in steps over
// contact ids: a small one first, so that its first messages leave at once
// after "Send", and the rest while they go, in steps that hold the writer
// for some tens of milliseconds each.
const (
	firstAudienceStep = 2_000
	audienceStep      = 2_000
)

// audienceWriter writes the rest of a campaign's audience to its outbox
// while the campaign sends.
type audienceWriter struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// writeAudience freezes the campaign's audience with a first small step,
// and returns the writer of the rest, nil when there is none.
func (d *Dispatcher) writeAudience(ctx context.Context, c store.Campaign) (*audienceWriter, error) {
	a, err := d.s.st.CampaignAudience(ctx, c)
	if err != nil {
		return nil, err
	}
	m, err := d.s.st.MaterialiseSome(ctx, c.ID, a, d.audienceSteps[0])
	if err != nil || m.Done {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	w := &audienceWriter{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for !m.Done && w.err == nil {
			start := time.Now()
			m, w.err = d.s.st.MaterialiseSome(wctx, c.ID, a, d.audienceSteps[1])
			// As long again for everyone else who writes: this campaign's
			// claims and outcomes first of all, which would otherwise wait
			// behind one step after another.
			select {
			case <-wctx.Done():
			case <-time.After(time.Since(start)):
			}
		}
	}()
	return w, nil
}

// writing says whether some of the audience is still to be written. An
// error is the writer's, which ends the run: the next one goes on where it
// stopped.
func (w *audienceWriter) writing() (bool, error) {
	if w == nil {
		return false, nil
	}
	select {
	case <-w.done:
		return false, w.err
	default:
		return true, nil
	}
}

// wait waits a little for more of the audience to be written.
func (w *audienceWriter) wait(ctx context.Context) {
	select {
	case <-w.done:
	case <-ctx.Done():
	case <-time.After(20 * time.Millisecond):
	}
}

// stop stops the writer, if the run ends before it, and waits for it.
func (w *audienceWriter) stop() {
	if w == nil {
		return
	}
	w.cancel()
	<-w.done
}

// claimed is one claimed send with its contact, for a worker.
type claimed struct {
	send    store.Send
	contact store.Contact
	found   bool
}

// pump claims due sends in batches of perConnection for each of conns
// connections and feeds them to the workers until none is due, the
// campaign stops sending, or a limit holds it; it closes feed when it
// returns. drained says that nothing due was left. It looks at the
// campaign's status every perConnection sends, so a pause or a cancel
// stops the workers within a few messages. Until the relay in use has
// answered in this run, and while it fails to, it probes instead: one
// message a connection, and no more until they are tried, so nothing
// waits in "sending" that no connection works on.
func (d *Dispatcher) pump(ctx context.Context, run *campaignRun, conns int, feed chan<- claimed) (drained bool, err error) {
	defer close(feed)
	defer func() {
		// Stopping is not a failure: what was claimed is released.
		if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			err = nil
		}
	}()
	for ctx.Err() == nil && run.held.Load() == nil && !run.stopped.Load() && !run.stalled.Load() {
		cur, err := d.s.st.Campaign(ctx, run.id)
		if err != nil || cur.Status != store.CampaignSending {
			return false, err
		}
		if stop, err := run.mustWait(ctx, cur); stop || err != nil {
			return false, err
		}
		if paused, err := d.s.st.QueuePaused(ctx, store.QueueCampaigns); paused || err != nil {
			return false, err
		}
		n, probing := conns*perConnection, run.route.failing() || !run.answered.Load()
		if probing {
			n = conns
		}
		// Whether the audience was all written is known before the claim,
		// so that a claim that finds nothing after that has seen it all.
		writing, err := run.writer.writing()
		if err != nil {
			return false, err
		}
		batch, err := d.s.st.ClaimSends(ctx, run.id, n, d.s.lease())
		if err != nil || len(batch) == 0 && !writing {
			return err == nil, err
		}
		if len(batch) == 0 {
			// Nothing due yet, but more of the audience is on its way.
			run.writer.wait(ctx)
			continue
		}
		run.fed.Add(len(batch))
		contacts, err := d.s.st.SendContacts(ctx, batch)
		if err != nil {
			return false, errors.Join(err, d.releaseUnfed(ctx, run, batch))
		}
		for i, sd := range batch {
			if run.stalled.Load() {
				return false, d.releaseUnfed(ctx, run, batch[i:])
			}
			if i > 0 && i%perConnection == 0 {
				if status, err := d.s.st.CampaignStatus(ctx, run.id); err != nil || status != store.CampaignSending {
					run.stopped.Store(true)
					return false, errors.Join(err, d.releaseUnfed(ctx, run, batch[i:]))
				}
			}
			contact, found := contacts[sd.ContactID]
			feed <- claimed{send: sd, contact: contact, found: found}
		}
		if probing {
			run.fed.Wait()
		}
	}
	return false, nil
}

// releaseUnfed puts claimed sends that no worker took back in the queue.
func (d *Dispatcher) releaseUnfed(ctx context.Context, run *campaignRun, sends []store.Send) error {
	run.fed.Add(-len(sends))
	ids := make([]int64, len(sends))
	for i, sd := range sends {
		ids[i] = sd.ID
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return d.s.st.ReleaseSends(rctx, ids)
}

// GCPercent is the garbage collector's growth target Herald runs with
// (GOGC), unless GOGC is set. Sending allocates some tens of kilobytes a
// message that die at once, over a live heap of some tens of megabytes:
// collecting at 400% growth rather than Go's default 100% spends about a
// fifth less CPU a message, for some tens of megabytes more memory.
const GCPercent = 400

// MemoryLimit is the soft limit on the Go heap Herald runs with (GOMEMLIMIT),
// unless GOMEMLIMIT is set: past it the collector runs sooner than
// GCPercent says, so that work with more live data, like an import's
// batches, does not grow the heap fivefold. Sending lives far below it.
const MemoryLimit = 192 << 20

// pauseItself pauses a sending campaign, says why on its page, and tells
// the owners.
func (d *Dispatcher) pauseItself(ctx context.Context, id int64, name, reason string) error {
	paused, err := d.s.st.AutoPause(ctx, id, reason)
	if paused {
		d.s.log.Warn("campaign paused itself", "campaign", id, "reason", reason)
		d.s.NotifyOwners(ctx, fmt.Sprintf("Campaign %q paused itself", name), reason+"\n\nOpen the campaign in Herald to see its recipients, then resume or cancel it.")
	}
	return err
}
