package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
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
				if ctx.Err() == nil && !job.stopped.Load() && !rec.failed.Load() {
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
// meanwhile. The function it returns waits for that commit, and fails when
// any commit so far has.
func (r *recorder) submit(out store.Outcome) func() error {
	done := make(chan struct{})
	r.in <- recordReq{out: out, done: done}
	return func() error {
		<-done
		if r.failed.Load() {
			return errNotRecorded
		}
		return nil
	}
}

// close stops the recorder and reports any failed commit.
func (r *recorder) close() error {
	close(r.in)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (d *Dispatcher) lease() time.Duration {
	if d.Lease > 0 {
		return d.Lease
	}
	return 5 * time.Minute
}

// campaignJob is one run of one campaign.
type campaignJob struct {
	d        *Dispatcher
	id       int64
	content  *mailer.Content
	compiled *mailer.Compiled
	route    *route
	// general is read once per run, not on every message: the retry delay,
	// the domain limits and the auto-pause thresholds.
	general store.General
	// settled counts messages sent or failed, before this run and in it,
	// for the bounce and complaint rates.
	settled atomic.Int64
	// held is set when a relay's daily cap stops the run.
	held atomic.Pointer[held]
	// stopped is set when the campaign stops sending mid-run, so the
	// workers leave what they were fed untried.
	stopped atomic.Bool
	// refused says why the relays refuse the whole campaign, such as an SES
	// account with sending paused; the run then pauses it.
	refused atomic.Pointer[string]
	// signer signs each message with the sending domain's DKIM key; nil
	// when the domain has none.
	signer *mailer.DKIMSigner
	// feedbackID names the campaign in each message's Feedback-ID.
	feedbackID string
}

func (d *Dispatcher) newJob(ctx context.Context, c store.Campaign, content *mailer.Content, compiled *mailer.Compiled, rt *route) (*campaignJob, error) {
	g, err := d.Store.General(ctx)
	if err != nil {
		return nil, err
	}
	n, err := d.Store.SendCounts(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	j := &campaignJob{d: d, id: c.ID, content: content, compiled: compiled, route: rt, general: g,
		feedbackID: fmt.Sprintf("%d:herald", c.ID)}
	if d.Signer != nil {
		if j.signer, err = d.Signer(ctx, content.FromEmail); err != nil {
			return nil, fmt.Errorf("campaign %d: DKIM key: %w", c.ID, err)
		}
	}
	j.settled.Store(int64(n[store.SendSent] + n[store.SendFailed]))
	return j, nil
}

// firstRetry is the delay before the first retry of a temporary failure.
func (j *campaignJob) firstRetry() time.Duration {
	if j.d.FirstRetry > 0 {
		return j.d.FirstRetry
	}
	return j.general.FirstRetry()
}

// mustWait checks, before each batch, whether the campaign must stop: its
// relay's daily cap is reached (it is held until the next day), or its
// bounce or complaint rate passed its threshold (it pauses itself and the
// owners are told).
func (j *campaignJob) mustWait(ctx context.Context, c store.Campaign) (bool, error) {
	h, err := j.route.full(ctx)
	if err != nil {
		return true, err
	}
	if h != nil {
		return true, j.d.Store.HoldCampaign(ctx, c.ID, h.reason, h.until)
	}
	if c.HeldReason != "" {
		if err := j.d.Store.HoldCampaign(ctx, c.ID, "", time.Time{}); err != nil {
			return true, err
		}
	}
	reason := j.overThreshold(c)
	if reason == "" {
		return false, nil
	}
	return true, j.pauseItself(ctx, c.Name, reason)
}

// pauseItself pauses the campaign, says why, and tells the owners.
func (j *campaignJob) pauseItself(ctx context.Context, name, reason string) error {
	paused, err := j.d.Store.AutoPause(ctx, j.id, reason)
	if paused {
		j.d.Log.Warn("campaign paused itself", "campaign", j.id, "reason", reason)
		if j.d.Notify != nil {
			j.d.Notify(ctx, fmt.Sprintf("Campaign %q paused itself", name), reason+"\n\nOpen the campaign in Herald to see its recipients, then resume or cancel it.")
		}
	}
	return err
}

// overThreshold says why the campaign must pause, or "" when it need not.
func (j *campaignJob) overThreshold(c store.Campaign) string {
	settled := j.settled.Load() - int64(c.RatesFrom.Settled)
	if settled < store.MinSendsForPause {
		return ""
	}
	for _, x := range []struct {
		what  string
		count int
		limit float64
	}{{"hard-bounced", c.Bounces - c.RatesFrom.Bounces, j.general.BouncePausePercent},
		{"were reported as spam", c.Complaints - c.RatesFrom.Complaints, j.general.ComplaintPausePercent}} {
		if rate := 100 * float64(x.count) / float64(settled); rate > x.limit {
			return fmt.Sprintf("Campaign %q paused itself: %d of its %d messages so far %s (%.2f%%), over the %g%% set in Settings → General. "+
				"A high rate hurts the reputation of everything you send; check where the list came from before resuming.",
				c.Name, x.count, settled, x.what, rate, x.limit)
		}
	}
	return ""
}

// prepare renders one recipient's message. When it cannot, it returns the
// outcome that says why instead.
func (j *campaignJob) prepare(sd store.Send, contact store.Contact, found bool) ([]byte, *store.Outcome) {
	if !found {
		return nil, &store.Outcome{SendID: sd.ID, Status: store.SendFailed, Response: "the contact was deleted before the message went"}
	}
	msg, err := j.content.Build(j.compiled, j.id, mailer.Recipient{
		SendID:     sd.ID,
		Contact:    mailer.ContactData{Email: sd.Email, FirstName: contact.FirstName, LastName: contact.LastName, Attributes: contact.Attributes},
		Links:      j.d.Links(sd.ContactID, j.id),
		Org:        j.d.Org(),
		Date:       time.Now(),
		FeedbackID: j.feedbackID,
	})
	if err != nil {
		// A template that cannot render for this recipient fails them
		// visibly, with the reason, rather than skipping them.
		return nil, &store.Outcome{SendID: sd.ID, Status: store.SendFailed, Response: err.Error()}
	}
	if j.signer != nil {
		if msg, err = j.signer.Sign(msg); err != nil {
			return nil, &store.Outcome{SendID: sd.ID, Status: store.SendFailed, Response: "DKIM signing: " + err.Error()}
		}
	}
	return msg, nil
}

// deliver sends one prepared message and says what became of it; an
// outcome without a status means it was never tried.
func (j *campaignJob) deliver(ctx context.Context, committed func() error, sd store.Send, msg []byte) store.Outcome {
	out := store.Outcome{SendID: sd.ID}
	var counted []store.Counter
	if domain := domainOf(sd.Email); j.general.DomainLimit(domain) > 0 {
		c, err := j.d.limits().takeDomain(ctx, domain, j.general.DomainLimit(domain))
		if h, ok := err.(*held); ok {
			return store.Outcome{SendID: sd.ID, Status: store.SendQueued, Response: h.reason, NextAttempt: h.until}
		}
		if err != nil {
			return j.retry(sd, out, err)
		}
		counted = append(counted, c)
	}
	res, relay, err := j.route.Deliver(ctx, committed, j.content.FromEmail, sd.Email, msg)
	if h, ok := err.(*held); ok {
		// The whole campaign waits, not this message: it goes back to the
		// queue untried, and goes as soon as the relay may send again,
		// whether the day turns or its quota is raised.
		j.held.Store(h)
		return store.Outcome{SendID: sd.ID}
	}
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) || errors.Is(err, errNotRecorded) {
		// Stopped before the message left: untried, not failed. After a
		// failed commit, nothing more goes out in this run.
		if errors.Is(err, errNotRecorded) {
			j.stopped.Store(true)
		}
		return store.Outcome{SendID: sd.ID}
	}
	var se *mailer.SendError
	if errors.As(err, &se) {
		out.Code = se.Code
		if se.AccountRefused {
			// No message can go until a person acts: the campaign pauses,
			// and this one waits in the queue untried.
			reason := fmt.Sprintf("Paused itself: relay %s refuses to send anything for now (%v). Fix it with the provider, then resume.", relay.Name, err)
			j.refused.Store(&reason)
			j.stopped.Store(true)
			return store.Outcome{SendID: sd.ID}
		}
	}
	switch mailer.Classify(err) {
	case mailer.Delivered:
		out.Status, out.Code, out.Response, out.ProviderID = store.SendSent, 250, res.Reply, res.ProviderID
		out.Count = append(counted, store.Counter{Scope: relayScope(relay.ID), Window: day(time.Now())})
	case mailer.HardBounce:
		out.Status, out.Response, out.HardBounce = store.SendFailed, err.Error(), true
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if berr := j.d.Store.HardBounce(bctx, sd.ContactID, sd.Email, err.Error()); berr != nil {
			j.d.Log.Error("recording a hard bounce", "campaign", j.id, "send", sd.ID, "err", berr)
		}
	case mailer.Permanent:
		out.Status, out.Response = store.SendFailed, err.Error()
	default:
		return j.retry(sd, out, err)
	}
	j.settled.Add(1)
	return out
}

// domainOf is the domain of an address, lower-cased.
func domainOf(email string) string {
	_, domain, _ := strings.Cut(email, "@")
	return strings.ToLower(domain)
}

// retry schedules another attempt after a temporary failure, or gives up
// once the message has been retrying for mailer.RetryFor.
func (j *campaignJob) retry(sd store.Send, out store.Outcome, err error) store.Outcome {
	out.Response = err.Error()
	if mailer.RetriesSpent(sd.Attempts+1, j.firstRetry()) {
		out.Status, out.Response = store.SendFailed, "gave up after 3 days of temporary failures: "+err.Error()
		return out
	}
	out.Status = store.SendRetrying
	out.NextAttempt = time.Now().Add(mailer.RetryDelay(sd.Attempts+1, j.firstRetry()))
	return out
}

// Resume is run once at startup: it puts the sends a stopped process left
// in flight back in the queue and carries on with every sending campaign.
func (d *Dispatcher) Resume(ctx context.Context) error {
	n, err := d.Store.RequeueInFlight(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		d.Log.Info("sends left in flight by the last run requeued", "count", n)
	}
	return d.kickSending(ctx)
}

// kickSending runs every sending campaign that is not already running.
func (d *Dispatcher) kickSending(ctx context.Context) error {
	cs, err := d.Store.Campaigns(ctx, store.CampaignSending)
	for _, c := range cs {
		d.Kick(c.ID)
	}
	return err
}

// StartDue is the job that starts scheduled campaigns when their time
// comes, within its 5-second period.
func (d *Dispatcher) StartDue(ctx context.Context) Job {
	return Job{
		Name: "start scheduled campaigns",
		Spec: "@every 5s",
		Run: func(context.Context) error {
			cs, err := d.Store.DueCampaigns(ctx)
			if err != nil || d.Start == nil {
				return err
			}
			var errs []error
			for _, c := range cs {
				if err := d.Start(ctx, c.ID); err != nil {
					errs = append(errs, fmt.Errorf("campaign %d %q: %w", c.ID, c.Name, err))
					continue
				}
				d.Log.Info("scheduled campaign started", "campaign", c.ID)
				d.Kick(c.ID)
			}
			return errors.Join(errs...)
		},
	}
}

// Dispatch is the job that keeps sending campaigns moving: it puts sends
// whose lease ran out back in the queue, and runs every sending campaign
// that is not already running, which also picks up retries as they fall due.
func (d *Dispatcher) Dispatch(ctx context.Context) Job {
	d.mu.Lock()
	d.ctx = ctx
	d.mu.Unlock()
	return Job{
		Name: "dispatch",
		Spec: "@every 10s",
		Run: func(context.Context) error {
			if n, err := d.Store.RecoverLeases(ctx, d.runningIDs()); err != nil {
				return err
			} else if n > 0 {
				d.Log.Info("sends requeued after their lease ran out", "count", n)
			}
			// Usage counters matter for a day at most.
			if err := d.Store.PruneUsage(ctx, time.Now().Add(-48*time.Hour)); err != nil {
				return err
			}
			return d.kickSending(ctx)
		},
	}
}

// GCPercent is the garbage collector's growth target Herald runs with
// (GOGC), unless GOGC is set. Sending allocates some tens of kilobytes a
// message that die at once, over a live heap of some tens of megabytes:
// collecting at 400% growth rather than Go's default 100% spends about a
// fifth less CPU a message, for some tens of megabytes more memory.
const GCPercent = 400
