package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"herald/mailer"
	"herald/store"
)

// Dispatcher sends campaigns from the outbox: it claims due sends in
// batches, renders each for its recipient, delivers it over the relay's
// connection pool, and records every outcome.
type Dispatcher struct {
	Store *store.Store
	Log   *slog.Logger
	// Open opens a relay for sending: an SMTP pool or an SES client.
	Open func(ctx context.Context, r store.Relay) (mailer.Transport, error)
	// Links returns a recipient's own links for a campaign.
	Links func(contactID, campaignID int64) mailer.Links
	// Org is the sending organisation, for footers.
	Org func() mailer.OrgData
	// FirstRetry is the delay before the first retry of a temporary
	// failure; later ones double from it. Zero reads it from settings.
	FirstRetry time.Duration
	// Lease is how long a claimed batch may take before its sends go back
	// to the queue.
	Lease time.Duration
	// Start freezes a scheduled campaign's content and sets it sending,
	// when its time comes.
	Start func(ctx context.Context, id int64) error
	// Notify tells the owners something they must act on, such as a
	// campaign that paused itself.
	Notify func(ctx context.Context, subject, text string)
	// Signer returns the DKIM signer for a From address's domain, or nil
	// when it has no key. Nil Signer signs nothing.
	Signer func(ctx context.Context, from string) (*mailer.DKIMSigner, error)

	mu      sync.Mutex
	running map[int64]bool
	gates   *gates
	wg      sync.WaitGroup
	// ctx is the lifetime given to Dispatch, for runs Kick starts.
	ctx context.Context
}

// Kick starts sending a campaign now rather than at the dispatch job's next
// run, as when someone presses Send or Resume.
func (d *Dispatcher) Kick(id int64) {
	d.mu.Lock()
	ctx := d.ctx
	d.mu.Unlock()
	if ctx == nil {
		return
	}
	d.wg.Go(func() {
		if err := d.RunCampaign(ctx, id); err != nil {
			d.Log.Error("campaign send", "campaign", id, "err", err)
		}
	})
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

// limits returns the rate limits every run shares.
func (d *Dispatcher) limits() *gates {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gates == nil {
		d.gates = newGates(d.Store)
	}
	return d.gates
}

// Wait blocks until every campaign run the Dispatch job started has
// returned; cancel the job's context first.
func (d *Dispatcher) Wait() { d.wg.Wait() }

// perConnection is how many sends a batch claims for each connection.
const perConnection = 25

// RunCampaign sends a sending campaign until nothing is due: it returns
// when every send is done (and marks the campaign sent), when only retries
// that are not yet due remain, or when the campaign is paused or cancelled.
// A second call for a campaign already running returns at once.
func (d *Dispatcher) RunCampaign(ctx context.Context, id int64) error {
	d.mu.Lock()
	if d.running == nil {
		d.running = map[int64]bool{}
	}
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

	c, err := d.Store.Campaign(ctx, id)
	if err != nil || c.Status != store.CampaignSending {
		return err
	}
	if !c.Materialised {
		a, err := d.Store.CampaignAudience(ctx, c)
		if err != nil {
			return err
		}
		if _, err := d.Store.Materialise(ctx, id, a); err != nil {
			return err
		}
	}
	frozen, err := d.Store.CampaignFrozen(ctx, id)
	if err != nil {
		return err
	}
	var content mailer.Content
	if err := json.Unmarshal([]byte(frozen), &content); err != nil {
		return fmt.Errorf("campaign %d: frozen content: %w", id, err)
	}
	compiled, err := mailer.Compile(content.Source)
	if err != nil {
		return fmt.Errorf("campaign %d: %w", id, err)
	}
	rt, err := d.openRoute(ctx, c.RelayID)
	if err != nil {
		return fmt.Errorf("campaign %d: relay: %w", id, err)
	}
	defer rt.Close()
	conns := rt.conns
	job, err := d.newJob(ctx, c, &content, compiled, rt)
	if err != nil {
		return err
	}

	// Workers take claimed sends from the feed, which the pump fills a
	// batch ahead, so no connection waits while the next batch is claimed.
	// Each records a message's outcome, through the group committer,
	// before the relay gets its next message for good: a crash can then
	// lose the record of at most one message per connection.
	rec := newRecorder(d.Store)
	feed := make(chan claimed, conns)
	var untried []int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			// The next message renders, and crosses the wire up to the
			// final dot of DATA, while the last one's outcome is being
			// committed; the relay gets it for good only once that commit
			// is done.
			var committed func() error
			for it := range feed {
				var out store.Outcome
				if ctx.Err() == nil && !job.stopped.Load() && !rec.failed.Load() && job.held.Load() == nil {
					msg, early := job.prepare(it.send, it.contact, it.found)
					if early != nil {
						out = *early
					} else {
						out = job.deliver(ctx, committed, it.send, msg)
					}
				}
				if out.Status == "" {
					// Stopping: leave it untried, to be released.
					mu.Lock()
					untried = append(untried, it.send.ID)
					mu.Unlock()
					continue
				}
				committed = rec.submit(out)
			}
			if committed != nil {
				committed()
			}
		})
	}
	drained, err := d.pump(ctx, job, conns*perConnection, feed)
	wg.Wait()
	// Released with a context of its own, so it happens even while the
	// process is stopping.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	err = errors.Join(err, rec.close(), d.Store.ReleaseSends(rctx, untried))
	cancel()
	if err != nil {
		return err
	}
	if h := job.held.Load(); h != nil {
		return d.Store.HoldCampaign(ctx, id, h.reason, h.until)
	}
	if reason := job.refused.Load(); reason != nil {
		return job.pauseItself(ctx, c.Name, *reason)
	}
	if !drained {
		return nil
	}
	done, err := d.Store.FinishCampaign(ctx, id)
	if done {
		d.Log.Info("campaign sent", "campaign", id)
	}
	return err
}

// claimed is one claimed send with its contact, for a worker.
type claimed struct {
	send    store.Send
	contact store.Contact
	found   bool
}

// pump claims due sends in batches of n and feeds them to the workers
// until none is due, the campaign stops sending, or a limit holds it; it
// closes feed when it returns. drained says that nothing due was left. It
// looks at the campaign's status every perConnection sends, so a pause or
// a cancel stops the workers within a few messages.
func (d *Dispatcher) pump(ctx context.Context, job *campaignJob, n int, feed chan<- claimed) (drained bool, err error) {
	defer close(feed)
	defer func() {
		// Stopping is not a failure: what was claimed is released.
		if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			err = nil
		}
	}()
	for ctx.Err() == nil && job.held.Load() == nil && !job.stopped.Load() {
		cur, err := d.Store.Campaign(ctx, job.id)
		if err != nil || cur.Status != store.CampaignSending {
			return false, err
		}
		if stop, err := job.mustWait(ctx, cur); stop || err != nil {
			return false, err
		}
		batch, err := d.Store.ClaimSends(ctx, job.id, n, d.lease())
		if err != nil || len(batch) == 0 {
			return err == nil, err
		}
		contacts, err := d.Store.SendContacts(ctx, batch)
		if err != nil {
			return false, errors.Join(err, d.releaseUnfed(ctx, batch))
		}
		for i, sd := range batch {
			if i > 0 && i%perConnection == 0 {
				if status, err := d.Store.CampaignStatus(ctx, job.id); err != nil || status != store.CampaignSending {
					job.stopped.Store(true)
					return false, errors.Join(err, d.releaseUnfed(ctx, batch[i:]))
				}
			}
			contact, found := contacts[sd.ContactID]
			feed <- claimed{send: sd, contact: contact, found: found}
		}
	}
	return false, nil
}

// releaseUnfed puts claimed sends that no worker took back in the queue.
func (d *Dispatcher) releaseUnfed(ctx context.Context, sends []store.Send) error {
	ids := make([]int64, len(sends))
	for i, sd := range sends {
		ids[i] = sd.ID
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return d.Store.ReleaseSends(rctx, ids)
}

func (d *Dispatcher) lease() time.Duration {
	if d.Lease > 0 {
		return d.Lease
	}
	return 5 * time.Minute
}

// GCPercent is the garbage collector's growth target Herald runs with
// (GOGC), unless GOGC is set. Sending allocates some tens of kilobytes a
// message that die at once, over a live heap of some tens of megabytes:
// collecting at 400% growth rather than Go's default 100% spends about a
// fifth less CPU a message, for some tens of megabytes more memory.
const GCPercent = 400
