package outbound

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"herald/mailer"
	"herald/scheduler"
	"herald/store"
)

// Lane sends transactional messages, like receipts and password resets,
// and Herald's system mail. It has its own workers and opens its own relay
// connections, so a campaign going out at the same time holds none of it
// up. Each worker records a message's outcome before it takes the next,
// and Run puts the messages a stopped process left in flight back in the
// queue, so none is lost. Build it with New; Run drives it.
type Lane struct {
	s      *Service
	signal scheduler.Signal

	// relayMu guards relays, the lane's own open relays by id.
	relayMu sync.Mutex
	relays  map[int64]laneRelay

	throttle laneThrottle
}

// laneThrottle holds the lane to the owner's cap on messages a minute.
type laneThrottle struct {
	mu sync.Mutex
	// limit is the cap (0 for none), read again after checked.
	limit   int
	checked time.Time
	// minute is the start of the current minute, and used the messages
	// taken in it.
	minute time.Time
	used   int
}

// throttleCheck is how often the lane reads the owner's cap again.
const throttleCheck = 2 * time.Second

// take reserves a message of the current minute's cap, or says how long to
// wait for the next minute.
func (l *Lane) take(ctx context.Context) time.Duration {
	t := &l.throttle
	t.mu.Lock()
	defer t.mu.Unlock()
	now := l.s.now()
	if now.Sub(t.checked) >= throttleCheck {
		if c, err := l.s.st.QueueControl(ctx, store.QueueTransactional); err == nil {
			t.limit = c.PerMinute
		}
		t.checked = now
	}
	if t.limit == 0 {
		return 0
	}
	if minute := now.Truncate(time.Minute); !minute.Equal(t.minute) {
		t.minute, t.used = minute, 0
	}
	if t.used >= t.limit {
		return t.minute.Add(time.Minute).Sub(now)
	}
	t.used++
	return 0
}

// giveBack returns a reservation no message used.
func (l *Lane) giveBack() {
	t := &l.throttle
	t.mu.Lock()
	if t.limit > 0 && t.used > 0 {
		t.used--
	}
	t.mu.Unlock()
}

func newLane(s *Service) *Lane { return &Lane{s: s, relays: map[int64]laneRelay{}} }

// laneRelay is a relay the lane opened, and the version of its settings it
// was opened with.
type laneRelay struct {
	updated time.Time
	t       mailer.Transport
}

// Wake wakes every idle worker to look for messages now, as when one has
// just been queued.
func (l *Lane) Wake() { l.signal.Wake() }

// Run sends messages until ctx ends, then waits for the attempts under way
// and closes the relays it opened. It first requeues the messages a
// stopped process left in flight.
func (l *Lane) Run(ctx context.Context) error {
	n, err := l.s.st.RequeueInFlightMessages(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		l.s.log.Info("transactional messages left in flight by the last run requeued", "count", n)
	}
	defer l.closeRelays()
	var wg sync.WaitGroup
	for range orDefault(l.s.cfg.LaneWorkers, 4) {
		wg.Go(func() { l.work(ctx) })
	}
	tick := time.NewTicker(orDefault(l.s.cfg.Every, 5*time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-tick.C:
			if n, err := l.s.st.RecoverMessageLeases(ctx); err != nil && ctx.Err() == nil {
				l.s.log.Error("recovering transactional message leases", "err", err)
			} else if n > 0 {
				l.s.log.Info("transactional messages requeued after their lease ran out", "count", n)
			}
			l.Wake()
		}
	}
}

// work claims and sends one message at a time until none is due, then
// waits for a kick.
func (l *Lane) work(ctx context.Context) {
	for ctx.Err() == nil {
		wake := l.signal.Next()
		wait := l.take(ctx)
		claim := l.s.st.ClaimMessages
		if wait > 0 {
			// The owner's cap a minute on transactional mail is reached:
			// only system mail goes until the next minute.
			claim = l.s.st.ClaimSystemMessages
		}
		ms, err := claim(ctx, 1, l.s.lease())
		if err != nil && ctx.Err() == nil {
			l.s.log.Error("claiming transactional messages", "err", err)
		}
		if len(ms) == 1 {
			if wait == 0 && ms[0].Kind == store.MessageSystem {
				l.giveBack() // system mail does not count against the cap
			}
			l.send(ctx, ms[0])
			continue
		}
		if wait == 0 {
			l.giveBack()
		}
		if wait > 0 {
			// Wait for the next minute, or a kick (the cap may have changed).
			select {
			case <-ctx.Done():
			case <-wake:
			case <-time.After(wait):
			}
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
		err := l.s.st.RecordMessageOutcome(rctx, out)
		cancel()
		if err == nil {
			return
		}
		l.s.log.Error("recording a transactional message's outcome; trying again", "message", m.ID, "err", err, "in", wait)
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
	out := store.MessageOutcome{ID: m.ID, PerRecipient: len(m.All()) > 1}
	recipients := m.All()
	if m.PendingTo != nil {
		recipients = m.PendingTo
	}
	// An address may have been suppressed since the message was queued.
	to, left, err := l.s.envelope(ctx, m, recipients)
	if err != nil {
		return l.retry(ctx, m, out, recipients, err)
	}
	if len(to) == 0 {
		if sentBefore(m) {
			// The others have it; those still waiting may no longer be mailed.
			out.Status, out.Code, out.Response, out.Left, out.Pending = store.MessageSent, 250, "sent to the others; "+notSent(left), left, []string{}
			return out
		}
		out.Status, out.Response = store.MessageSuppressed, notSent(left)
		return out
	}
	out.Left = left
	atts, err := l.s.st.MessageAttachments(ctx, m.ID)
	if err != nil {
		return l.retry(ctx, m, out, to, err)
	}
	msg, err := l.s.sign(ctx, m.FromEmail, l.s.buildMessage(ctx, m, atts, l.s.now()))
	if err != nil {
		return l.retry(ctx, m, out, to, fmt.Errorf("signing: %w", err))
	}
	out.Size = len(msg)
	res, relay, err := l.deliver(ctx, m, to, msg)
	var se *mailer.SendError
	if errors.As(err, &se) {
		out.Code = se.Code
		if se.AccountRefused {
			// The relay refuses everything until a person acts: not this
			// message's fault, so it waits rather than fails.
			return l.retry(ctx, m, out, to, err)
		}
	}
	switch mailer.Classify(err) {
	case mailer.Delivered:
		for _, a := range to {
			if res.Refused[a] == nil && res.Deferred[a] == nil {
				out.Delivered = append(out.Delivered, a)
			}
		}
		out.Code, out.ProviderID, out.Reply, out.Replies = 250, res.ProviderID, res.Reply, res.Replies
		out.Left = append(out.Left, l.refused(ctx, m, res.Refused)...)
		// Transactional mail is never held back by a relay's quota, but it
		// counts towards it, so campaigns leave it room.
		out.Count = []store.Counter{{Scope: relayScope(relay.ID), Window: day(l.s.now())}}
		if len(res.Deferred) > 0 {
			// Those the relay could not take yet get it alone, later.
			out.Pending = slices.Sorted(maps.Keys(res.Deferred))
			return l.retry(ctx, m, out, out.Pending, fmt.Errorf("sent to %d; not yet to %s", len(out.Delivered), refusals(res.Deferred)))
		}
		out.Status, out.Response = store.MessageSent, replies(res)
		if out.PerRecipient {
			out.Pending = []string{}
		}
	case mailer.HardBounce, mailer.Permanent:
		out.Status, out.Response = store.MessageFailed, err.Error()
		if len(res.Refused) == 0 {
			// Refused as a whole, or its one recipient refused.
			res.Refused = map[string]error{}
			for _, a := range to {
				res.Refused[a] = err
			}
		}
		failed := l.refused(ctx, m, res.Refused)
		if out.PerRecipient {
			out.Left, out.Pending = append(out.Left, failed...), []string{}
			if sentBefore(m) {
				out.Status, out.Response = store.MessageSent, "sent to the others; "+err.Error()
			}
		}
	default:
		waiting := to
		if out.PerRecipient {
			// Those refused for good are done with; the others wait.
			out.Left = append(out.Left, l.refused(ctx, m, res.Refused)...)
			if len(res.Refused)+len(res.Deferred) > 0 {
				waiting = slices.Sorted(maps.Keys(res.Deferred))
			}
			out.Pending = waiting
		}
		return l.retry(ctx, m, out, waiting, err)
	}
	return out
}

// sentBefore says whether an earlier attempt sent a message to several to
// some of its recipients.
func sentBefore(m store.Message) bool { return m.PendingTo != nil && m.SentTo > 0 }

// replies is the relay's answer to a message, or its answers when it went
// in several transactions.
func replies(res mailer.Result) string {
	if len(res.Replies) == 0 {
		return res.Reply
	}
	var out []string
	for _, r := range slices.Sorted(maps.Values(res.Replies)) {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return strings.Join(out, "; ")
}

// refusals lists recipients with why the relay refused them.
func refusals(refused map[string]error) string {
	parts := make([]string, 0, len(refused))
	for _, a := range slices.Sorted(maps.Keys(refused)) {
		parts = append(parts, a+": "+refused[a].Error())
	}
	return strings.Join(parts, "; ")
}

// refused records the recipients a relay refused for good: each is left
// out as failed, and bounced when the relay said it does not exist.
func (l *Lane) refused(ctx context.Context, m store.Message, refused map[string]error) []store.LeftOut {
	var out []store.LeftOut
	for _, a := range slices.Sorted(maps.Keys(refused)) {
		why := refused[a].Error()
		if mailer.Classify(refused[a]) == mailer.HardBounce {
			l.hardBounce(ctx, m.ID, a, why)
		}
		out = append(out, store.LeftOut{Email: a, Status: store.MessageFailed, Why: why})
	}
	return out
}

// hardBounce marks a known contact bounced and suppresses the address; an
// address that is no contact's only fails.
func (l *Lane) hardBounce(ctx context.Context, messageID int64, email, answer string) {
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	c, err := l.s.st.ContactByEmail(bctx, email)
	if err == nil {
		err = l.s.st.HardBounce(bctx, c.ID, email, answer)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		l.s.log.Error("recording a hard bounce", "message", messageID, "err", err)
	}
}

// retry schedules another attempt for the recipients waiting after a
// temporary failure, or gives up on them by the one rule, retryAt.
func (l *Lane) retry(ctx context.Context, m store.Message, out store.MessageOutcome, waiting []string, err error) store.MessageOutcome {
	if ctx.Err() != nil && len(out.Delivered) == 0 {
		// Stopping, which may itself be the failure: the next start tries
		// again. An attempt that sent to some is recorded all the same.
		return store.MessageOutcome{}
	}
	out.Response = answerOf(err)
	next, giveUp := retryAt(m.Attempts+1, l.s.firstRetry(l.s.general(ctx)), l.s.now())
	if giveUp {
		out.Status, out.Response = store.MessageFailed, gaveUp(err)
		if out.PerRecipient {
			for _, a := range waiting {
				out.Left = append(out.Left, store.LeftOut{Email: a, Status: store.MessageFailed, Why: out.Response})
			}
			out.Pending = []string{}
			if len(out.Delivered) > 0 || sentBefore(m) {
				out.Status, out.Response = store.MessageSent, "sent to the others; "+out.Response
			}
		}
		return out
	}
	out.Status, out.NextAttempt = store.MessageRetrying, next
	return out
}
