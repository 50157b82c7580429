package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"herald/mailer"
	"herald/store"
)

// Lane sends transactional messages, like receipts and password resets. It
// has its own workers and opens its own relay connections, so a campaign
// going out at the same time holds none of it up. Each worker records a
// message's outcome before it takes the next, and Run puts the messages a
// stopped process left in flight back in the queue, so none is lost.
type Lane struct {
	Store *store.Store
	Log   *slog.Logger
	// Open opens a relay for sending: an SMTP pool or an SES client.
	Open func(ctx context.Context, r store.Relay) (mailer.Transport, error)
	// Sign, when set, signs every message before it goes, as DKIM does.
	Sign func(ctx context.Context, from string, msg []byte) ([]byte, error)
	// Workers is how many messages go at once; 4 when zero.
	Workers int
	// FirstRetry is the delay before the first retry of a temporary
	// failure; later ones double from it. Zero reads it from settings.
	FirstRetry time.Duration
	// Lease is how long one attempt may take before its message goes back
	// to the queue; 5 minutes when zero.
	Lease time.Duration
	// Every is how often the lane looks for retries that fell due and
	// leases that ran out; 5 seconds when zero.
	Every time.Duration

	mu   sync.Mutex
	wake chan struct{}
	// relayMu guards relays, the lane's own open relays by id.
	relayMu sync.Mutex
	relays  map[int64]laneRelay
}

// laneRelay is a relay the lane opened, and the version of its settings it
// was opened with.
type laneRelay struct {
	updated time.Time
	t       mailer.Transport
}

// Kick wakes every idle worker to look for messages now, as when one has
// just been created.
func (l *Lane) Kick() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.wake != nil {
		close(l.wake)
	}
	l.wake = make(chan struct{})
}

// signal returns the channel the next Kick closes.
func (l *Lane) signal() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.wake == nil {
		l.wake = make(chan struct{})
	}
	return l.wake
}

// Run sends messages until ctx ends, then waits for the attempts under way
// and closes the relays it opened. It first requeues the messages a
// stopped process left in flight.
func (l *Lane) Run(ctx context.Context) error {
	n, err := l.Store.RequeueInFlightMessages(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		l.Log.Info("transactional messages left in flight by the last run requeued", "count", n)
	}
	defer l.closeRelays()
	var wg sync.WaitGroup
	for range orDefault(l.Workers, 4) {
		wg.Go(func() { l.work(ctx) })
	}
	tick := time.NewTicker(orDefault(l.Every, 5*time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-tick.C:
			if n, err := l.Store.RecoverMessageLeases(ctx); err != nil && ctx.Err() == nil {
				l.Log.Error("recovering transactional message leases", "err", err)
			} else if n > 0 {
				l.Log.Info("transactional messages requeued after their lease ran out", "count", n)
			}
			l.Kick()
		}
	}
}

// orDefault is v, or def when v is zero.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// work claims and sends one message at a time until none is due, then
// waits for a kick.
func (l *Lane) work(ctx context.Context) {
	for ctx.Err() == nil {
		wake := l.signal()
		ms, err := l.Store.ClaimMessages(ctx, 1, orDefault(l.Lease, 5*time.Minute))
		if err != nil && ctx.Err() == nil {
			l.Log.Error("claiming transactional messages", "err", err)
		}
		if len(ms) == 1 {
			l.send(ctx, ms[0])
			continue
		}
		select {
		case <-ctx.Done():
		case <-wake:
		}
	}
}

// send makes one attempt at a claimed message and commits its outcome.
func (l *Lane) send(ctx context.Context, m store.Message) {
	out := l.attempt(ctx, m)
	if out.Status == "" {
		// Stopped before its fate was known: the message stays in flight,
		// and the next start puts it back in the queue.
		return
	}
	// The worker takes no other message until this outcome is written
	// down: it tries again, more slowly each time, until it is or Herald
	// stops (the message then goes back to the queue at the next start).
	for wait := time.Second; ; wait = min(2*wait, time.Minute) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		err := l.Store.RecordMessageOutcome(rctx, out)
		cancel()
		if err == nil {
			return
		}
		l.Log.Error("recording a transactional message's outcome; trying again", "message", m.ID, "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// attempt builds and delivers a message and says what became of it; an
// outcome without a status means it was cut short by stopping.
func (l *Lane) attempt(ctx context.Context, m store.Message) store.MessageOutcome {
	out := store.MessageOutcome{ID: m.ID}
	if !m.Essential {
		// The address may have been suppressed since the message was queued.
		why, err := l.Store.MessageBlock(ctx, m.ToEmail)
		if err != nil {
			return l.retry(ctx, m, out, err)
		}
		if why != "" {
			out.Status, out.Response = store.MessageSuppressed, "not sent: "+why
			return out
		}
	}
	atts, err := l.Store.MessageAttachments(ctx, m.ID)
	if err != nil {
		return l.retry(ctx, m, out, err)
	}
	msg := buildMessage(m, atts)
	if l.Sign != nil {
		if msg, err = l.Sign(ctx, m.FromEmail, msg); err != nil {
			return l.retry(ctx, m, out, fmt.Errorf("signing: %w", err))
		}
	}
	res, relay, err := l.deliver(ctx, m, msg)
	var se *mailer.SendError
	if errors.As(err, &se) {
		out.Code = se.Code
		if se.AccountRefused {
			// The relay refuses everything until a person acts: not this
			// message's fault, so it waits rather than fails.
			return l.retry(ctx, m, out, err)
		}
	}
	switch mailer.Classify(err) {
	case mailer.Delivered:
		out.Status, out.Code, out.Response, out.ProviderID = store.MessageSent, 250, res.Reply, res.ProviderID
		// Transactional mail is never held back by a relay's quota, but it
		// counts towards it, so campaigns leave it room.
		out.Count = []store.Counter{{Scope: relayScope(relay.ID), Window: day(time.Now())}}
	case mailer.HardBounce:
		out.Status, out.Response = store.MessageFailed, err.Error()
		l.hardBounce(ctx, m, err.Error())
	case mailer.Permanent:
		out.Status, out.Response = store.MessageFailed, err.Error()
	default:
		return l.retry(ctx, m, out, err)
	}
	return out
}

// hardBounce marks a known contact bounced and suppresses the address; an
// address that is no contact's only fails.
func (l *Lane) hardBounce(ctx context.Context, m store.Message, answer string) {
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	c, err := l.Store.ContactByEmail(bctx, m.ToEmail)
	if err == nil {
		err = l.Store.HardBounce(bctx, c.ID, m.ToEmail, answer)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		l.Log.Error("recording a hard bounce", "message", m.ID, "err", err)
	}
}

// retry schedules another attempt after a temporary failure, or gives up
// once the message has waited mailer.RetryFor.
func (l *Lane) retry(ctx context.Context, m store.Message, out store.MessageOutcome, err error) store.MessageOutcome {
	if ctx.Err() != nil {
		// Stopping, which may itself be the failure: the next start tries again.
		return store.MessageOutcome{}
	}
	out.Response = err.Error()
	if time.Since(m.CreatedAt) > mailer.RetryFor {
		out.Status, out.Response = store.MessageFailed, "gave up after 3 days of temporary failures: "+err.Error()
		return out
	}
	first := l.FirstRetry
	if first == 0 {
		first = store.DefaultFirstRetry * time.Second
		if g, gerr := l.Store.General(ctx); gerr == nil {
			first = g.FirstRetry()
		}
	}
	out.Status = store.MessageRetrying
	out.NextAttempt = time.Now().Add(mailer.RetryDelay(m.Attempts+1, first))
	return out
}
